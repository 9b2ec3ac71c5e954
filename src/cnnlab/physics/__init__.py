"""Physics with CNNs: the 2-D Ising model.

Modules, one concept each:

- :mod:`cnnlab.physics.exact`: Onsager's energy, Yang's magnetization, Tc, exact enumeration, the
  triangular lattice (Houtappel).
- :mod:`cnnlab.physics.msc`: multi-spin-coded checkerboard Metropolis in NumPy (the readable reference).
- :mod:`cnnlab.physics.compiled`: the same rule compiled with numba (square and triangular lattices).
- :mod:`cnnlab.physics.torch_msc`: the same rule in PyTorch bitwise operations (runs on a GPU).
- :mod:`cnnlab.physics.ising`: simulation front end (Metropolis or Wolff, any backend), plain checkerboards.
- :mod:`cnnlab.physics.wolff`: the Wolff cluster algorithm (NumPy reference and compiled kernel).
- :mod:`cnnlab.physics.observables`: binning, autocorrelation time, error bars, chi, C, Binder.
- :mod:`cnnlab.physics.limits`: bounds on every user-controlled size, checked before allocating.
- :mod:`cnnlab.physics.dataset`: decorrelated configurations saved in a versioned file.
- :mod:`cnnlab.physics.phases`: the Z2-symmetric phase classifier, trained with :func:`cnnlab.train.fit`.
- :mod:`cnnlab.physics.tc`: Tc from the classifier's crossings and the finite-size fit; saved models.
- :mod:`cnnlab.physics.fss`: finite-size scaling: weighted 1/L fit, curve crossings, data collapse.
- :mod:`cnnlab.physics.unsupervised`: learning by confusion and PCA.
- :mod:`cnnlab.physics.rg`: block-spin decimation versus max and average pooling.
- :mod:`cnnlab.physics.study`: the whole study (Binder, CNN, dense, nu, confusion, PCA, triangular, RG).
- :mod:`cnnlab.physics.reports`, :mod:`cnnlab.physics.study_report`: result files (JSON, markdown).
- :mod:`cnnlab.physics.plots`: the figures (matplotlib imported only when drawing).
"""
