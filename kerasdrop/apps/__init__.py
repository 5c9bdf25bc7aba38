"""Applications built on kerasdrop: the `kerasdrop` command and its jobs.

Not part of the library: `import kerasdrop` does not import this package,
and the library never imports it. It holds what the command line runs:

- `kerasdrop.apps.cli`: the `kerasdrop` command (`python -m kerasdrop`);
- `kerasdrop.apps.archives`: how much a user's `.keras` file may unpack to,
  checked before the command loads it;
- `kerasdrop.apps.demo`: `kerasdrop demo`, four ways to train one MLP on
  bundled digits, judged on calibration and out-of-distribution detection;
- `kerasdrop.apps.report`: the demo report's Markdown and HTML renderer;
- `kerasdrop.apps.uci`: `kerasdrop uci`, the UCI regression benchmark of
  Gal & Ghahramani (2016).

These modules need matplotlib and scikit-learn (the demo's plots and data);
the library itself imports neither.
"""
