"""The agent's routes, one module per route family; each module's ``ROUTES`` lists its routes."""
