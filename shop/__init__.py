"""twinshop's shop: the application written once and wired twice (monolith, distributed)."""
