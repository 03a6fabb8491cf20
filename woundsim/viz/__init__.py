"""The interactive page (optional extra `woundsim[viz]`): `woundsim viz` serves it.

Modules: `model` (the page's VizModel, built from flat controls), `drawing` (maps as RGB images),
`charts` (ECharts options of the live plots), `app` (the page: a plain Solara page, not Mesa's SolaraViz,
see its docstring), `serve` (the command).
Nothing in the core package imports this one.
"""
