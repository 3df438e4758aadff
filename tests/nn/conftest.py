import pytest


@pytest.fixture(scope="session")
def digits_variants():
    """Every variant of the digits classifier, trained once per session (seed 0, ~5 s)."""
    from zeroskip.nn.variants import train_variants

    return train_variants(0)


@pytest.fixture(scope="session")
def digits():
    from zeroskip.nn.digits import digits_split

    return digits_split(0)
