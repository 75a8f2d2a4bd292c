"""The guide's decision framework: the team's answers and the bake-off's measurements in, a
recommendation with every reason out. The rules are data (rules.yaml); engine.py only applies them."""
