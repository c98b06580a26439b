// A dualdraw client for Node.js built from protos/ alone: over gRPC the .proto files are loaded at run time
// (@grpc/proto-loader), nothing is generated; over HTTP/JSON (the Connect protocol of `dualdraw serve
// --http-address`) requests and replies are protobuf's JSON mapping. Either way a refusal carries the
// google.rpc.Status details the server sends (ErrorInfo reason and metadata, BadRequest field violations),
// decoded with Google's own protos.
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

// Replies shaped like protobuf's JSON mapping, as on the HTTP/JSON port: int64 as strings (no precision
// lost), enums by name, lowerCamelCase names; unlike that port, fields holding their default are present.
const LOAD_OPTIONS = { longs: String, enums: String, defaults: true, oneofs: true };

/** Loads every dualdraw.v1 proto; returns the `dualdraw.v1` namespace of service constructors. */
export function loadApi(protos = PROTOS) {
  const folder = join(protos, "dualdraw", "v1");
  const files = readdirSync(folder)
    .filter((name) => name.endsWith(".proto"))
    .map((name) => `dualdraw/v1/${name}`);
  const definition = protoLoader.loadSync(files, { ...LOAD_OPTIONS, includeDirs: [protos, googleProtos] }); // google/type, google/api: Google's own copies
  return grpc.loadPackageDefinition(definition).dualdraw.v1;
}

const googleProtos = dirname(require.resolve("google-proto-files/package.json"));
const rpcTypes = new protobuf.Root();
rpcTypes.resolvePath = (_origin, target) => join(googleProtos, target);
rpcTypes.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"]);
const Status = rpcTypes.lookupType("google.rpc.Status");

/** Decodes one `google.protobuf.Any` detail of a status into `found`. */
function addDetail(found, typeName, value) {
  const type = rpcTypes.lookupType(typeName);
  const detail = type.toObject(type.decode(value));
  if (typeName === "google.rpc.ErrorInfo") {
    Object.assign(found, { reason: detail.reason, domain: detail.domain, metadata: detail.metadata ?? {} });
  } else if (typeName === "google.rpc.BadRequest") {
    found.fieldViolations.push(...(detail.fieldViolations ?? []));
  }
}

/** A refused HTTP/JSON call: `connect` is the Connect error body (`code`, `message`, `details`). */
export class ConnectError extends Error {
  constructor(body) {
    super(`${body.code}: ${body.message ?? ""}`);
    this.connect = body;
  }
}

/** Decodes a failed call (gRPC's `grpc-status-details-bin`, or a Connect error body) into `{code,
 * message, reason, domain, metadata, fieldViolations}`; `reason` is empty when the server sent no
 * ErrorInfo. `code` is the gRPC status name on both transports. */
export function errorDetails(error) {
  const found = { code: "", message: "", reason: "", domain: "", metadata: {}, fieldViolations: [] };
  if (error.connect) {
    found.code = String(error.connect.code).toUpperCase();
    found.message = error.connect.message ?? "";
    for (const detail of error.connect.details ?? []) {
      addDetail(found, detail.type, Buffer.from(detail.value, "base64"));
    }
    return found;
  }
  found.code = grpc.status[error.code] ?? String(error.code);
  found.message = error.details ?? "";
  const [raw] = error.metadata?.get("grpc-status-details-bin") ?? [];
  if (!raw) return found;
  for (const any of Status.decode(raw).details) {
    const typeUrl = any.typeUrl ?? any.type_url;
    addDetail(found, typeUrl.slice(typeUrl.lastIndexOf("/") + 1), any.value);
  }
  return found;
}

/** Pages through a List method (AIP-158) with `call`; returns every item of `field` and the page count. */
async function pageThrough(call, service, method, request, field, pageSize) {
  const items = [];
  let pageToken = "";
  let pages = 0;
  do {
    const page = await call(service, method, { ...request, pageSize, pageToken });
    items.push(...(page[field] ?? []));
    pageToken = page.nextPageToken ?? "";
    pages += 1;
  } while (pageToken);
  return { items, pages };
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

  /** Calls a unary method, e.g. `call("DrawService", "GetDraw", {name})`; resolves to the reply. */
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
  const listAll = (service, method, request, field, pageSize = 50) =>
    pageThrough(call, service, method, request, field, pageSize);

  const close = () => Object.values(services).forEach((stub) => stub.close());
  return { call, callStream, listAll, close };
}

/** The same client over HTTP/JSON: `base` is the HTTP port's address (`http://127.0.0.1:8080`). Replies
 * follow protobuf's JSON mapping, which leaves out fields holding their default value. */
export function connectHttp(base, { actor = "node-client", token = "", deadlineMs = 60_000 } = {}) {
  const headers = (contentType) => ({
    "Content-Type": contentType,
    "Connect-Protocol-Version": "1",
    "Connect-Timeout-Ms": String(deadlineMs),
    "x-dualdraw-actor": actor,
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
  });
  const url = (service, method) => `${base.replace(/\/$/, "")}/dualdraw.v1.${service}/${method}`;

  const call = async (service, method, request) => {
    const response = await fetch(url(service, method), {
      method: "POST",
      headers: headers("application/json"),
      body: JSON.stringify(request),
    });
    const body = await response.json();
    if (!response.ok) throw new ConnectError(body);
    return body;
  };

  /** A client-streaming call: each request a Connect frame (flags, 4-byte length, JSON). */
  const callStream = async (service, method, requests) => {
    const frames = requests.map((request) => {
      const json = Buffer.from(JSON.stringify(request), "utf8");
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(json.length, 1);
      return Buffer.concat([prefix, json]);
    });
    const response = await fetch(url(service, method), {
      method: "POST",
      headers: headers("application/connect+json"),
      body: Buffer.concat(frames),
    });
    const data = Buffer.from(await response.arrayBuffer());
    let reply;
    for (let offset = 0; offset + 5 <= data.length; ) {
      const flags = data[offset];
      const length = data.readUInt32BE(offset + 1);
      const message = JSON.parse(data.subarray(offset + 5, offset + 5 + length).toString("utf8"));
      offset += 5 + length;
      if (flags & 0x02) {
        if (message.error) throw new ConnectError(message.error);
      } else {
        reply = message;
      }
    }
    return reply;
  };

  const listAll = (service, method, request, field, pageSize = 50) =>
    pageThrough(call, service, method, request, field, pageSize);
  return { call, callStream, listAll, close: () => {} };
}
