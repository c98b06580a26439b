// The demo draw from Node.js, with nothing but protos/, over gRPC or HTTP/JSON: the demo's published plan,
// an import of an object with a Chinese name (𠮷 lies outside the Basic Multilingual Plane), a rehearsal
// task and its draw, the assignments page by page, and two refusals read through their ErrorInfo reasons.
//
//   node demo-draw.mjs [HOST:PORT] [--json]        gRPC (default: DUALDRAW_SERVER, else 127.0.0.1:50051)
//   node demo-draw.mjs http://HOST:PORT [--json]   HTTP/JSON, the Connect protocol (`make run`: port 8080)
//
// Needs a server with the demo loaded and local entropy allowed (`make run`). With --json it prints one
// JSON object summing up what it saw (the end-to-end test reads it); otherwise a line per step.
import { randomInt, randomUUID } from "node:crypto";

import { connect, connectHttp, errorDetails } from "./dualdraw.mjs";

const args = process.argv.slice(2);
const json = args.includes("--json");
const target = args.find((arg) => !arg.startsWith("--")) ?? process.env.DUALDRAW_SERVER ?? "127.0.0.1:50051";
const AS_OF = { year: 2026, month: 12, day: 1 }; // the day the demo directory is arranged around (google.type.Date)
const OBJECT_NAME = "唐山𠮷祥食品有限公司";

const ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/** A valid Unified Social Credit Code (GB 32100) of an enterprise registered in `region`. */
function creditCode(region) {
  const random = Array.from({ length: 7 }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");
  const body = `91${region}MA${random}`;
  let total = 0;
  for (let i = 0; i < body.length; i += 1) total += ALPHABET.indexOf(body[i]) * 3 ** i;
  return body + ALPHABET[(31 - (total % 31)) % 31];
}

const say = (line) => {
  if (!json) console.log(line);
};

/** Calls `fn`, which must fail; returns the failure's decoded status details. */
async function refusal(fn) {
  try {
    await fn();
  } catch (error) {
    return errorDetails(error);
  }
  throw new Error("the call was expected to be refused");
}

async function main() {
  const http = /^https?:\/\//.test(target);
  const options = { actor: "node-demo" };
  const dualdraw = http ? connectHttp(target, options) : connect(target, options);
  try {
    const summary = { target, transport: http ? "http-json" : "grpc" };

    const plans = await dualdraw.listAll("PlanService", "ListPlans", {}, "plans", 10);
    const plan = plans.items.find((p) => p.state?.endsWith("PUBLISHED") && p.entries?.length);
    if (!plan) throw new Error("no published plan: load the demo (`dualdraw demo`)");
    const entry = plan.entries[0];
    summary.plan = { id: plan.id, title: plan.title, entry: entry.id, itemCode: entry.itemCode };
    say(`plan ${plan.id} ${plan.title}: entry ${entry.id} (${entry.itemCode} at ${entry.ratio?.value})`);

    const objects = await dualdraw.listAll("DirectoryService", "ListObjects", {}, "objects", 100);
    summary.directory = { objects: objects.items.length, pages: objects.pages };
    say(`${objects.items.length} objects in the directory (${objects.pages} pages)`);

    const department = await dualdraw.call("DirectoryService", "GetDepartment", {
      name: `departments/${plan.departmentId}`,
    });
    const code = creditCode(department.regionCode);
    const imported = await dualdraw.callStream("DirectoryService", "ImportDirectory", [
      {
        requestId: `node-import-${randomUUID()}`,
        objects: [
          {
            creditCode: code,
            displayName: OBJECT_NAME,
            regionCode: department.regionCode,
            registeringDepartmentId: department.id,
            industry: "C14",
            businessLines: ["product_quality"],
            riskClass: "RISK_CLASS_B",
            status: "OBJECT_STATUS_ACTIVE",
          },
        ],
        lastChunk: true,
      },
    ]);
    const stored = await dualdraw.call("DirectoryService", "GetObject", { name: `objects/${code}` });
    summary.chineseName = {
      creditCode: code,
      sent: OBJECT_NAME,
      read: stored.displayName,
      importedObjects: imported.objects,
      codePoints: [...stored.displayName].length,
      utf16Units: stored.displayName.length,
    };
    say(`imported ${code} ${stored.displayName} (${stored.displayName === OBJECT_NAME ? "round trip intact" : "CHANGED"})`);

    const task = await dualdraw.call("TaskService", "CreateTask", {
      requestId: `node-task-${randomUUID()}`,
      task: { planId: plan.id, planEntryId: entry.id, departmentId: plan.departmentId, rehearsal: true },
    });
    const drawRequest = { taskId: task.id, asOf: AS_OF, requestId: `node-draw-${randomUUID()}` };
    const { draw } = await dualdraw.call("DrawService", "Draw", drawRequest);
    const { draw: replay } = await dualdraw.call("DrawService", "Draw", drawRequest);
    say(`task ${task.id} drawn: ${draw.id} seed ${draw.seed}`);
    const excluded = draw.excludedCount ?? "0";
    say(`  in scope ${draw.inScopeCount}, excluded ${excluded}, selected ${draw.selectedCount}`);

    const assignments = await dualdraw.listAll(
      "DrawService",
      "ListAssignments",
      { drawId: draw.id },
      "assignments",
      3, // a small page, so that paging happens
    );
    for (const a of assignments.items) {
      const team = (a.team ?? []).map((m) => `${m.name}${m.leader ? "*" : ""}`).join(", ");
      say(`  ${a.position}. ${a.creditCode} ${a.objectName}: ${team}`);
    }
    const teams = assignments.items.map((a) => a.team ?? []);
    summary.draw = {
      taskId: task.id,
      id: draw.id,
      state: draw.state,
      rehearsal: draw.rehearsal ?? false,
      seed: draw.seed,
      inScope: draw.inScopeCount,
      selected: draw.selectedCount,
      replayId: replay.id,
      assignments: assignments.items.length,
      assignmentPages: assignments.pages,
      teamSizes: [...new Set(teams.map((team) => team.length))],
      leadersPerTeam: [...new Set(teams.map((team) => team.filter((m) => m.leader).length))],
    };

    const unplanned = await refusal(() =>
      dualdraw.call("TaskService", "CreateTask", {
        task: { itemCode: entry.itemCode, departmentId: plan.departmentId, ratio: { value: "0.1" }, teamSize: 2 },
      }),
    );
    const lowerCase = await refusal(() =>
      dualdraw.call("DirectoryService", "GetObject", { name: `objects/${code.toLowerCase()}` }),
    );
    summary.errors = { unplannedTask: unplanned, lowerCaseCreditCode: lowerCase };
    say(`a task outside the plan: ${unplanned.code} ${unplanned.reason}`);
    say(`a lower-case credit code: ${lowerCase.code} ${lowerCase.reason}`);
    for (const v of lowerCase.fieldViolations) say(`  ${v.field}: ${v.description}`);

    if (json) console.log(JSON.stringify(summary));
  } finally {
    dualdraw.close();
  }
}

main().catch((error) => {
  const failed = error.details !== undefined || error.connect !== undefined;
  console.error(failed ? `${error.message} ${JSON.stringify(errorDetails(error))}` : error);
  process.exit(1);
});
