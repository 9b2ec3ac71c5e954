"""The web visualiser: a dense network and a CNN side by side on digits you draw, computed in the browser.

The page under ``static/`` runs one client-side engine (``static/js/engine/``) on networks stored as
web model files (:mod:`~cnnlab.web.bundle`, made from runs by :mod:`~cnnlab.web.runs`);
:mod:`~cnnlab.web.site` writes it as a static site
(``cnnlab web build``) or serves it from ``cnnlab serve``.

:mod:`~cnnlab.web.models` loads run folders, :mod:`~cnnlab.web.digit` turns a drawing into an
MNIST-style 28x28 input (centred or as drawn, shifted), :mod:`~cnnlab.web.inference` runs a forward
pass keeping every layer's activations, :mod:`~cnnlab.web.translation` is the translation lesson's
server half (the shift sweep and the shipped reference curve), :mod:`~cnnlab.web.app` serves the JSON API and the static page under ``static/``, and
:mod:`~cnnlab.web.security` keeps the server local (Host check, body cap).
"""
