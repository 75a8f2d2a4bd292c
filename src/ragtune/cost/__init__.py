"""The guide's cost analysis as a model: one-time, monthly and per-query costs per approach, from a dated
price file, with the break-even volume computed from them."""
