defmodule Shop.Repo.Migrations.CreateMessages do
  use Ecto.Migration

  # Additive (a new table): safe while the previous release keeps running.
  def change do
    create table(:messages) do
      add :body, :text, null: false
      add :slot, :string, null: false
      timestamps(type: :utc_datetime)
    end

    create index(:messages, [:inserted_at])
  end
end
