"""Teacher training funding: payroll and public budgets, local ratios, budgets and spend."""
