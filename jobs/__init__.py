"""NOVAI Studio jobs: the Huey queue, tasks per tool and the cloud providers' clients."""
