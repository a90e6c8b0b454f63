// The React example's entry: one client for the whole app, made at module scope (that
// opens nothing), handed to the hooks by <HeroProvider>. StrictMode on purpose: its double
// mount is what the hooks' shared, reference-counted sockets are for.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createHeroClient, HeroProvider } from "@hero-tasks/client/react";
import { App } from "./App.jsx";
import { readToken } from "./session.js";

// Asked before every connect, refresh and request: a new sign-in is picked up at once.
const client = createHeroClient({ getToken: () => readToken() });

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <HeroProvider client={client}>
      <App />
    </HeroProvider>
  </StrictMode>,
);
