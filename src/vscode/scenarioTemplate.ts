// The starter scenario written by "New Scenario": valid as it is (so the first run works), with comments that
// say what to change. No vscode import, so a unit test can parse it with the real scenario parser.

/** A commented *.alloclab.json for a service listening on a port picked per run. */
export function starterScenario(name: string): string {
  const safe = name.replace(/[^\w.-]/g, '_') || 'service';
  return `// Allocator Lab scenario: run a service under several allocators, drive load, compare RSS.
// Schema and hover help come from the JSON language service; see "Allocator Lab: Show Available Allocators".
{
  "name": "${safe}",
  "description": "What this scenario shows, in one line.",
  "target": {
    // The binary: absolute, relative to this file, or found on PATH. No shell: args pass as they are.
    "command": "./build/my-service",
    // \${port} is replaced by a free port picked for each environment.
    "args": ["--port", "\${port}"],
    "env": {},
    // Ready when the port accepts connections (or use httpUrl, logLine, delay).
    "ready": { "tcpPort": "\${port}", "timeout": "30s" }
  },
  // Environments run one after another; "alloclab allocators" lists what this machine has.
  "environments": ["glibc", "glibc-arena-2", "jemalloc", "mimalloc"],
  "sampling": { "intervalMs": 50 },
  "phases": [
    { "name": "warmup", "kind": "warmup", "duration": "5s",
      "load": { "driver": "http", "url": "http://127.0.0.1:\${port}/", "concurrency": 8 } },
    { "name": "load", "kind": "load", "duration": "30s",
      "load": { "driver": "http", "method": "POST", "url": "http://127.0.0.1:\${port}/", "concurrency": 32,
                "body": "{\\"id\\": {{counter}}, \\"key\\": \\"{{randomHex 16}}\\"}" } },
    // No load: does the allocator give memory back to the system?
    { "name": "idle", "kind": "idle", "duration": "15s" }
  ]
}
`;
}
