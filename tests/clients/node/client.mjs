// The official @orq-ai/node client calling the emulator, driven by tests/clients/test_node.py.
// Reads one JSON call per stdin line ({serverURL, apiKey, imagePath, model, responseFormat})
// and prints one JSON line per call: what the SDK parsed, or the error it returned.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
// The standalone function (the SDK's tree-shakable form) returns a Result instead of throwing.
import { OrqCore } from "@orq-ai/node/core.js";
import { routerImagesEditsCreate } from "@orq-ai/node/funcs/routerImagesEditsCreate.js";
import { APIError } from "@orq-ai/node/models/errors/apierror.js";

async function call({ serverURL, apiKey, imagePath, model, responseFormat }) {
  const core = new OrqCore({ apiKey, serverURL, retryConfig: { strategy: "none" } });
  const image = new Blob([readFileSync(imagePath)], { type: "image/png" });
  const result = await routerImagesEditsCreate(core, {
    model,
    prompt: "Put the logo on the mug",
    image,
    n: 2,
    responseFormat,
    cache: { type: "exact_match", ttl: 3600 },
    retry: { count: 2, onCodes: [429] },
    orq: { identity: { id: "node_1" } },
  });
  if (result.ok) {
    // The value passed the SDK's own response schema (zod); report what it parsed.
    const res = result.value;
    return {
      ok: true,
      created: res.created,
      data: res.data.map((item) => ({ b64Json: item.b64Json ?? null, url: item.url ?? null })),
      usage: res.usage ?? null,
    };
  }
  const error = result.error;
  return {
    ok: false,
    error: error.constructor.name,
    isAPIError: error instanceof APIError,
    statusCode: error.statusCode ?? null,
    message: String(error.message).slice(0, 300),
  };
}

for await (const line of createInterface({ input: process.stdin })) {
  console.log(JSON.stringify(await call(JSON.parse(line))));
}
