[
  import_deps: [:ecto, :ecto_sql, :phoenix],
  inputs: ["*.exs", "{config,lib,test}/**/*.{ex,exs}", "priv/*/seeds.exs"],
  subdirectories: ["priv/*/migrations"]
]
