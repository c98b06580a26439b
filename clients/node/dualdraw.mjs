// A dualdraw client for Node.js built from protos/ alone: the .proto files are loaded at run time
// (@grpc/proto-loader), nothing is generated. Errors carry the google.rpc.Status details the server sends
// (ErrorInfo reason and metadata, BadRequest field violations), decoded with Google's own protos.
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));

/** The repository's protos/ folder (DUALDRAW_PROTOS overrides it, e.g. for a copy shipped elsewhere). */
export const PROTOS = resolve(process.env.DUALDRAW_PROTOS ?? join(HERE, "..", "..", "protos"));

// protobuf's JSON mapping where it matters to a caller: int64 as strings (no precision lost), enums by
// name, default values present, so a reply reads like the HTTP/JSON port's.
const LOAD_OPTIONS = { longs: String, enums: String, defaults: true, oneofs: true };

/** Loads every dualdraw.v1 proto; returns the `dualdraw.v1` namespace of service constructors. */
export function loadApi(protos = PROTOS) {
  const folder = join(protos, "dualdraw", "v1");
  const files = readdirSync(folder)
    .filter((name) => name.endsWith(".proto"))
    .map((name) => `dualdraw/v1/${name}`);
  const definition = protoLoader.loadSync(files, { ...LOAD_OPTIONS, includeDirs: [protos] });
  return grpc.loadPackageDefinition(definition).dualdraw.v1;
}

const googleProtos = dirname(require.resolve("google-proto-files/package.json"));
const rpcTypes = new protobuf.Root();
rpcTypes.resolvePath = (_origin, target) => join(googleProtos, target);
rpcTypes.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"]);
const Status = rpcTypes.lookupType("google.rpc.Status");

/** Decodes a failed call's `grpc-status-details-bin` into `{code, message, reason, domain, metadata,
 * fieldViolations}`; `reason` is empty when the server sent no ErrorInfo. */
export function errorDetails(error) {
  const found = {
    code: grpc.status[error.code] ?? String(error.code),
    message: error.details ?? "",
    reason: "",
    domain: "",
    metadata: {},
    fieldViolations: [],
  };
  const [raw] = error.metadata?.get("grpc-status-details-bin") ?? [];
  if (!raw) return found;
  for (const any of Status.decode(raw).details) {
    const typeUrl = any.typeUrl ?? any.type_url;
    const typeName = typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
    const type = rpcTypes.lookupType(typeName);
    const detail = type.toObject(type.decode(any.value));
    if (typeName === "google.rpc.ErrorInfo") {
      Object.assign(found, { reason: detail.reason, domain: detail.domain, metadata: detail.metadata ?? {} });
    } else if (typeName === "google.rpc.BadRequest") {
      found.fieldViolations.push(...(detail.fieldViolations ?? []));
    }
  }
  return found;
}

/** A client of every dualdraw.v1 service on `target` (host:port, plaintext); `actor` names the caller
 * to a development server (auth off), `token` is a bearer token for a secured one. */
export function connect(target, { actor = "node-client", token = "", deadlineMs = 60_000 } = {}) {
  const api = loadApi();
  const credentials = grpc.credentials.createInsecure();
  const services = {};
  for (const [name, Service] of Object.entries(api)) {
    if (typeof Service === "function" && Service.service) {
      services[name] = new Service(target, credentials);
    }
  }
  const metadata = () => {
    const md = new grpc.Metadata();
    md.set("x-dualdraw-actor", actor);
    if (token) md.set("authorization", `Bearer ${token}`);
    return md;
  };
  const options = () => ({ deadline: Date.now() + deadlineMs });

  /** Calls a unary method, e.g. `call("DrawService", "GetDraw", {id})`; resolves to the reply. */
  const call = (service, method, request) =>
    new Promise((resolveCall, rejectCall) => {
      const stub = services[service];
      if (!stub || typeof stub[method] !== "function") {
        rejectCall(new Error(`no method ${service}/${method} in the protos`));
        return;
      }
      stub[method](request, metadata(), options(), (error, reply) =>
        error ? rejectCall(error) : resolveCall(reply),
      );
    });

  /** Calls a client-streaming method with `requests` in order; resolves to the reply. */
  const callStream = (service, method, requests) =>
    new Promise((resolveCall, rejectCall) => {
      const stream = services[service][method](metadata(), options(), (error, reply) =>
        error ? rejectCall(error) : resolveCall(reply),
      );
      for (const request of requests) stream.write(request);
      stream.end();
    });

  /** Pages through a List method (AIP-158) and returns every item of `field`. */
  const listAll = async (service, method, request, field, pageSize = 50) => {
    const items = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await call(service, method, { ...request, pageSize, pageToken });
      items.push(...page[field]);
      pageToken = page.nextPageToken;
      pages += 1;
    } while (pageToken);
    return { items, pages };
  };

  const close = () => Object.values(services).forEach((stub) => stub.close());
  return { call, callStream, listAll, close };
}
