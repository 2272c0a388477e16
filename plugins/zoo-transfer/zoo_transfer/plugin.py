"""The module the entry point names (``transfer = "zoo_transfer.plugin"``): records only,
no numpy import. The functions are imported when a score or test runs."""

from __future__ import annotations

from zoo.hookspecs import hookimpl
from zoo.records import TransferMethod

_S = "zoo_transfer.scores"


@hookimpl
def zoo_transfer_methods():
    return [
        TransferMethod(
            name="logme",
            kind="score",
            description="LogME (You et al. 2021): log marginal evidence of a Bayesian linear model "
            "from the features to the one-hot labels, per example, averaged over classes",
            function=f"{_S}:logme",
            min_per_class=2,
        ),
        TransferMethod(
            name="hscore",
            kind="score",
            description="H-score (Bao et al. 2019): tr(cov(f)^-1 cov(E[f|y])), how well the "
            "class-conditional means separate relative to the features' spread",
            function=f"{_S}:hscore",
            min_per_class=2,
        ),
        TransferMethod(
            name="leep",
            kind="score",
            description="LEEP (Nguyen et al. 2020): log expected empirical prediction of the "
            "source head's soft predictions through the empirical P(target | source)",
            function=f"{_S}:leep",
            min_per_class=1,
            needs_source_head=True,
        ),
        TransferMethod(
            name="nce",
            kind="score",
            description="NCE (Tran et al. 2019): negative conditional entropy H(target | source "
            "label), the source label being the source head's arg-max",
            function=f"{_S}:nce",
            min_per_class=1,
            needs_source_head=True,
        ),
        TransferMethod(
            name="knn",
            kind="score",
            description="few-shot k-nearest-neighbour accuracy (cosine, k=5), stratified cross-validation",
            function=f"{_S}:knn_accuracy",
            min_per_class=2,
            params={"k": 5, "folds": 5},
        ),
        TransferMethod(
            name="linear",
            kind="score",
            description="few-shot linear-probe accuracy (L2-regularised logistic regression on "
            "standardised features), stratified cross-validation",
            function=f"{_S}:linear_accuracy",
            min_per_class=2,
            params={"folds": 5, "c": 1.0},
        ),
        TransferMethod(
            name="mmd",
            kind="drift",
            description="maximum mean discrepancy (Gaussian kernel, median-heuristic bandwidth) "
            "with a permutation p-value (Gretton et al. 2012)",
            function="zoo_transfer.drift:mmd_test",
            higher_is_better=False,
            params={"permutations": 500},
        ),
    ]
