// The MCP TypeScript SDK client, through the proxy: connect over Streamable
// HTTP with the proxy key, make the calls given, print one JSON line per
// call: {"ok": true, "result": ...} or {"ok": false, "error": message, "code": ...}.
//   node client.mjs URL KEY CALL_JSON...
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, key, ...calls] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { "X-Akto-Api-Key": key } },
});
const client = new Client({ name: "akto-ts-test", version: "1.0.0" });
const timer = setTimeout(() => { console.error("timed out"); process.exit(3); }, 25000);
try {
  await client.connect(transport);
  for (const c of calls) {
    const { tool, arguments: args } = JSON.parse(c);
    try {
      const result = await client.callTool({ name: tool, arguments: args });
      console.log(JSON.stringify({ ok: true, result }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, error: String(e && e.message || e), code: e && e.code }));
    }
  }
} finally {
  clearTimeout(timer);
  await client.close().catch(() => {});
}
