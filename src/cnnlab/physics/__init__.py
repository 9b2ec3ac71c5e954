"""Physics with CNNs: the 2-D Ising model.

Modules, one concept each:

- :mod:`cnnlab.physics.exact`: Onsager's energy, Yang's magnetization, Tc, exact enumeration.
- :mod:`cnnlab.physics.msc`: multi-spin-coded checkerboard Metropolis (64 chains per machine word).
- :mod:`cnnlab.physics.ising`: simulation front end (Metropolis or Wolff), plain NumPy checkerboard.
- :mod:`cnnlab.physics.wolff`: the Wolff cluster algorithm (for temperatures near Tc).
- :mod:`cnnlab.physics.observables`: binning, autocorrelation time, error bars, chi, C, Binder.
- :mod:`cnnlab.physics.dataset`: decorrelated configurations saved in a versioned file.
- :mod:`cnnlab.physics.phases`: phase classification with a CNN and Tc from finite-size scaling.
- :mod:`cnnlab.physics.rg`: block-spin decimation versus max and average pooling.
- :mod:`cnnlab.physics.plots`: the figures (matplotlib imported only when drawing).
"""
