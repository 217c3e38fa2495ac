"""A local Telegram Bot API server for tests and demos.

- `python -m sandbox --port 8081` serves the Bot API at http://127.0.0.1:8081/bot<token>/<method>
  (any `<digits>:<secret>` token is a bot) and the control API under /sandbox/.
- `sandbox.testing.running_sandbox(**options)` starts one in-process for tests and demos.
- `sandbox.client` has SandboxUser/SandboxChat (in-process) and HttpSandboxClient (over HTTP).
"""
