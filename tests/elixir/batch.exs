# Every check of examples/phoenix_app that needs the real Elixir toolchain, in one BEAM, so the
# suite pays for one boot. Driven by tests/elixir/toolchain.py:
#
#   elixir tests/elixir/batch.exs <app dir> <result file> <pure module file>...
#
# Phase 1 (needs nothing from Python): parse every .ex/.exs file, compile the modules that need
# nothing but Elixir, run the app's ExUnit tests against them.
# Phase 2 (reads an Elixir literal from stdin, written once the Pulumi mock runs are done):
# evaluate config/runtime.exs with Config.Reader under each task environment, render
# rel/env.sh.eex, build the role SQL and a metric line.
# The result file gets one JSON document. (OTP 25 has no JSON module and Hex is not reachable,
# hence the small encoder at the end.)

defmodule Batch do
  def main([app_dir, result_file | pure_files]) do
    parsed = parse_all(app_dir)
    compiled = compile(pure_files)
    exunit =
      if compiled.errors == [],
        do: run_exunit(app_dir),
        else: %{tests: [], seed: nil, warnings: [], errors: ["the pure modules did not compile"]}

    cases = read_cases()

    result = %{
      "parsed" => parsed,
      "compiled" => compiled,
      "exunit" => exunit,
      "runtime" => Enum.map(cases["runtime"], &evaluate_runtime(app_dir, &1)),
      "env_sh" => reported(fn -> render_env_sh(app_dir, cases["release_name"]) end),
      "app_role_sql" =>
        reported(fn -> apply(Shop.Release.AppRole, :statements, [cases["app_user"], cases["database"]]) end),
      "second_app_role_sql" =>
        reported(fn ->
          apply(Shop.Release.AppRole, :statements, [cases["second_app_user"], cases["second_database"]])
        end)
    }

    File.write!(result_file, Batch.JSON.encode(result))
  end

  # A failure in one check is reported, not raised, so the other checks still report theirs.
  defp reported(fun) do
    %{"ok" => fun.()}
  rescue
    error -> %{"error" => Exception.message(error)}
  end

  defp parse_all(app_dir) do
    for path <- Path.wildcard(Path.join(app_dir, "**/*.{ex,exs}"), match_dot: true), into: %{} do
      relative = Path.relative_to(path, app_dir)

      case Code.string_to_quoted(File.read!(path), file: relative) do
        {:ok, _ast} -> {relative, "ok"}
        {:error, {location, message, token}} -> {relative, "#{inspect(location)}: #{inspect(message)} #{token}"}
      end
    end
  end

  # The pure modules refer to these dependencies only as defaults that the app passes at run
  # time (the IAM token function, the JSON encoder); they are not loaded here.
  @deps_referenced_by_defaults [ExAws.RDS, Jason]

  defp compile(files) do
    Code.put_compiler_option(:no_warn_undefined, @deps_referenced_by_defaults)

    case Kernel.ParallelCompiler.compile(files) do
      {:ok, modules, warnings} ->
        %{modules: Enum.map(modules, &inspect/1), errors: [], warnings: Enum.map(warnings, &diagnostic/1)}

      {:error, errors, warnings} ->
        %{modules: [], errors: Enum.map(errors, &diagnostic/1), warnings: Enum.map(warnings, &diagnostic/1)}
    end
  end

  defp diagnostic({file, line, message}), do: "#{Path.basename(file)}:#{inspect(line)}: #{message}"

  defp run_exunit(app_dir) do
    ExUnit.start(autorun: false, formatters: [Batch.Collector])
    Application.put_env(:logger, :level, :warning)

    files = Path.wildcard(Path.join(app_dir, "test/**/*_test.exs"))

    case Kernel.ParallelCompiler.require(files) do
      {:ok, _modules, warnings} ->
        ExUnit.run()

        %{
          tests: :persistent_term.get(Batch.Collector, []) |> Enum.reverse(),
          seed: ExUnit.configuration()[:seed],
          warnings: Enum.map(warnings, &diagnostic/1),
          errors: []
        }

      {:error, errors, warnings} ->
        %{tests: [], seed: nil, warnings: Enum.map(warnings, &diagnostic/1), errors: Enum.map(errors, &diagnostic/1)}
    end
  end

  defp read_cases do
    case IO.read(:stdio, :eof) do
      source when is_binary(source) ->
        {cases, _binding} = Code.eval_string(source)
        cases

      other ->
        raise "expected the cases on stdin (an Elixir literal ending in a newline), got #{inspect(other)}"
    end
  end

  # Each case: a task's environment (secrets replaced by sample values). The process starts
  # with an empty application environment for :shop, and every variable of every case is
  # cleared first, so one case never sees another's values.
  defp evaluate_runtime(app_dir, %{"id" => id, "env" => env, "all_names" => all_names}) do
    Enum.each(all_names, &System.delete_env/1)
    Enum.each(env, fn {name, value} -> System.put_env(name, value) end)
    path = Path.join(app_dir, "config/runtime.exs")

    try do
      config = Config.Reader.read!(path, env: :prod, target: :host)
      shop = Keyword.get(config, :shop, [])
      metrics = Keyword.get(shop, :metrics)

      %{
        "id" => id,
        "config" => config,
        "health" => apply(Shop.Health, :report, [Keyword.get(shop, :release, [])]),
        "metric_line" =>
          metrics &&
            Batch.JSON.encode(
              apply(Shop.Metrics.EMF, :web_sockets, [7, metrics[:stack], metrics[:slot], System.os_time(:millisecond)])
            )
      }
    rescue
      error -> %{"id" => id, "error" => Exception.message(error)}
    end
  end

  defp render_env_sh(app_dir, release_name) do
    # `mix release` renders the file with the Mix.Release struct as @release.
    release = %{name: String.to_atom(release_name), version: "0.1.0"}
    EEx.eval_file(Path.join(app_dir, "rel/env.sh.eex"), assigns: [release: release])
  end
end

defmodule Batch.Collector do
  @moduledoc false
  use GenServer

  def init(_opts), do: {:ok, 0}

  def handle_cast({:test_finished, %ExUnit.Test{} = test}, counter) do
    entry = %{
      "module" => inspect(test.module),
      "name" => Atom.to_string(test.name),
      "state" => state(test.state),
      "failure" => failure(test, counter + 1)
    }

    :persistent_term.put(__MODULE__, [entry | :persistent_term.get(__MODULE__, [])])
    {:noreply, counter + 1}
  end

  def handle_cast(_event, counter), do: {:noreply, counter}

  defp state(nil), do: "passed"
  defp state({kind, _}), do: Atom.to_string(kind)

  defp failure(%ExUnit.Test{state: {:failed, failures}} = test, counter) do
    ExUnit.Formatter.format_test_failure(test, failures, counter, 100, fn _, message -> message end)
  end

  defp failure(_test, _counter), do: nil
end

defmodule Batch.JSON do
  @moduledoc false
  # Enough JSON for what the checks report: maps and keyword lists become objects, tuples and
  # lists arrays, atoms strings (modules without "Elixir."), anything else its inspect form.

  def encode(term), do: IO.iodata_to_binary(value(term))

  defp value(nil), do: "null"
  defp value(true), do: "true"
  defp value(false), do: "false"
  defp value(atom) when is_atom(atom), do: string(atom_name(atom))
  defp value(number) when is_integer(number) or is_float(number), do: to_string(number)
  defp value(binary) when is_binary(binary), do: string(if String.valid?(binary), do: binary, else: inspect(binary))
  defp value(map) when is_map(map) and not is_struct(map), do: object(Map.to_list(map))
  defp value(tuple) when is_tuple(tuple), do: array(Tuple.to_list(tuple))

  defp value(list) when is_list(list) do
    cond do
      list != [] and Keyword.keyword?(list) -> object(list)
      list != [] and List.ascii_printable?(list) -> string(List.to_string(list))
      true -> array(list)
    end
  end

  defp value(other), do: string(inspect(other))

  defp object(pairs) do
    ["{", Enum.map_intersperse(pairs, ",", fn {k, v} -> [string(key(k)), ":", value(v)] end), "}"]
  end

  defp array(items), do: ["[", Enum.map_intersperse(items, ",", &value/1), "]"]

  defp key(k) when is_atom(k), do: atom_name(k)
  defp key(k) when is_binary(k), do: k
  defp key(k), do: inspect(k)

  defp atom_name(atom) do
    case Atom.to_string(atom) do
      "Elixir." <> _ -> inspect(atom)
      name -> name
    end
  end

  defp string(text) do
    escaped =
      for <<char::utf8 <- text>>, into: "" do
        case char do
          ?" -> "\\\""
          ?\\ -> "\\\\"
          c when c < 0x20 -> "\\u" <> String.pad_leading(Integer.to_string(c, 16), 4, "0")
          c -> <<c::utf8>>
        end
      end

    [?", escaped, ?"]
  end
end

Batch.main(System.argv())
