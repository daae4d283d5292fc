"""Helpers for the project's tests and benchmarks, written once and imported from here.

- `shell.governed_shell(data_dir, ...)`: a real `InteractiveShell` with the extension loaded, a
  clean environment and its own data dir; `shell.published(shell)` records what cells display.
- `widgets.widget_test_comms()`: ipywidgets' test comms, each widget with a unique comm id;
  `widgets.approval_panel`, `widgets.click` read and click a live card as the browser would.
- `ports.free_port()`: a free loopback port.
- `inert` (from the nbui branch): nothing rendered is executable.
- `agents.start_agent(...)`, `agents.stop_local_agents(data_dir)`: embedded agents for tests.
- `kernels.kernel_env(...)`, `kernels.start_kernel(env)`, `kernels.run(kc, code)`: real kernels.
- `openai_server.OpenAITestServer`: the loopback OpenAI-compatible LLM.
Nothing here is imported by the package itself.
"""
