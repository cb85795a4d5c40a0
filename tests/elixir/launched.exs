# Checks an app `python -m launch` changed, with the real Elixir toolchain (tests/test_launch.py):
#
#   elixir tests/elixir/launched.exs <app dir> <otp app> <web module> <module file>...
#
# Parses every .ex/.exs file of the app, compiles the modules config/runtime.exs calls (they
# need nothing but Elixir), then evaluates config/runtime.exs for :prod with Config.Reader under
# the environment this process was given (a phoenix-aws task's). Prints one line per finding:
#   parse-error <file>: <message>     runtime-error <message>     config <key> <inspect>
[app_dir, otp_app, web_module | modules] = System.argv()

for path <- Path.wildcard(Path.join(app_dir, "**/*.{ex,exs}"), match_dot: true),
    not String.contains?(path, ["/deps/", "/_build/"]) do
  case Code.string_to_quoted(File.read!(path), file: path) do
    {:ok, _} -> :ok
    {:error, error} -> IO.puts("parse-error #{Path.relative_to(path, app_dir)}: #{inspect(error)}")
  end
end

Enum.each(modules, &Code.compile_file(Path.join(app_dir, &1)))
app = String.to_atom(otp_app)
endpoint = Module.concat([web_module, "Endpoint"])

try do
  config = Config.Reader.read!(Path.join(app_dir, "config/runtime.exs"), env: :prod, target: :host)
  settings = config[app]

  for {key, value} <- [
        url: settings[endpoint][:url],
        check_origin: settings[endpoint][:check_origin],
        server: settings[endpoint][:server],
        http_port: settings[endpoint][:http][:port],
        dns_cluster_query: settings[:dns_cluster_query],
        pubsub: settings[:pubsub],
        drain_parameter: settings[:drain][:parameter],
        metrics: settings[:metrics],
        repo_keys: settings |> Keyword.keys() |> Enum.filter(&(Atom.to_string(&1) =~ "Repo"))
      ] do
    IO.puts("config #{key} #{inspect(value)}")
  end
rescue
  error -> IO.puts("runtime-error #{Exception.message(error) |> String.replace("\n", " ")}")
end
