"""The offline face engine: landmarks (MediaPipe), mesh, warp, colour transfer, cloning, smoothing."""
