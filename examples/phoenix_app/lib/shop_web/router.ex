defmodule ShopWeb.Router do
  use Phoenix.Router, helpers: false

  import Plug.Conn
  import Phoenix.Controller

  pipeline :browser do
    plug :accepts, ["html"]
    plug :put_secure_browser_headers
  end

  scope "/", ShopWeb do
    pipe_through :browser

    get "/", PageController, :index
  end
end
