"""Config sections, one module per component or concern. Each section is a frozen
dataclass whose defaults are the production defaults."""
