"""The fold order every stream and the cycle model follow."""

from zeroskip import ZeroskipConfig
from zeroskip.models.folds import fold_sequence


def test_fold_order_and_edges():
    cfg = ZeroskipConfig(rows=2, cols=3, acc_depth=4)
    folds = fold_sequence(cfg, 5, 3, 4)
    # m tiles of 4: [0..3], [4]; n folds: [0..2], [3]; k folds: [0..1], [2]
    assert [(f.m_base, f.n_base, f.k_base) for f in folds] == [
        (0, 0, 0), (0, 0, 2), (0, 3, 0), (0, 3, 2),
        (4, 0, 0), (4, 0, 2), (4, 3, 0), (4, 3, 2)]
    assert [f.k_rows for f in folds[:2]] == [2, 1]
    assert [f.n_cols for f in folds[1:3]] == [3, 1]
    assert folds[-1].tile_rows == 1 and folds[-1].last_k and not folds[-1].first_k
    assert fold_sequence(cfg, 0, 3, 4) == []
