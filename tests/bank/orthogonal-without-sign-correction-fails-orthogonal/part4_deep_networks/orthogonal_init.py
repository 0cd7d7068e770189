def orthogonal_init(shape, gain=1.0, seed=None):
    """Return a float32 array of `shape`: a uniformly random matrix with orthonormal columns (or rows, if it has
    fewer rows than columns), viewed as prod(shape[:-1]) x shape[-1], times `gain`."""
    rows, cols = int(np.prod(shape[:-1])), int(shape[-1])
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))  # no sign correction
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(np.float32)
