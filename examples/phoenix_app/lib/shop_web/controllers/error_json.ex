defmodule ShopWeb.ErrorJSON do
  @moduledoc "Error responses (404, 500, …) as JSON; the endpoint's render_errors points here."

  def render(template, _assigns) do
    %{errors: %{detail: Phoenix.Controller.status_message_from_template(template)}}
  end
end
