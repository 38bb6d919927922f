"""train.py - the wine-quality demo: fit an ElasticNet model of red wine
quality and track it.

Reads the UCI Wine Quality CSV (semicolon or comma separated, header row,
`quality` the target), splits it 75/25 with a fixed seed, fits
sklearn.linear_model.ElasticNet(alpha, l1_ratio), and logs the params alpha
and l1_ratio, the metrics rmse, mae and r2 on the test split, and the pickled
model as the artifact model/model.pkl. It logs through `mlflow` when that is
importable, else through Cairn's Python binding (`cairn`); either way it logs
into the run named by MLFLOW_RUN_ID when set (as under `cairn run` or
`mlflow run`), or a new run otherwise.

    python3 train.py --alpha 0.5 --l1-ratio 0.1 --data wine-quality.csv
"""
import argparse
import csv
import os
import pickle
import sys
import tempfile

import numpy as np
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

SEED = 40


def load(path):
    """The features and the quality column of the CSV, as float arrays."""
    with open(path, newline="") as f:
        first = f.readline()
        f.seek(0)
        delim = ";" if first.count(";") > first.count(",") else ","
        rows = list(csv.reader(f, delimiter=delim))
    header, body = rows[0], [r for r in rows[1:] if r]
    target = header.index("quality")
    data = np.array(body, dtype=float)
    x = np.delete(data, target, axis=1)
    y = data[:, target]
    return x, y


def tracker():
    """The logging module: mlflow if installed, else cairn."""
    try:
        import mlflow
        return mlflow
    except ImportError:
        import cairn
        return cairn


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Kept as given: the run already holds these params as text (cairn run and
    # mlflow run log them), and a param's value cannot change.
    ap.add_argument("--alpha", default="0.5")
    ap.add_argument("--l1-ratio", default="0.1")
    ap.add_argument("--data", default="wine-quality.csv")
    args = ap.parse_args(argv)

    x, y = load(args.data)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=SEED)
    alpha, l1_ratio = float(args.alpha), float(args.l1_ratio)
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=SEED)
    model.fit(x_train, y_train)
    pred = model.predict(x_test)
    metrics = {
        "rmse": float(np.sqrt(mean_squared_error(y_test, pred))),
        "mae": float(mean_absolute_error(y_test, pred)),
        "r2": float(r2_score(y_test, pred)),
    }
    print(f"ElasticNet(alpha={alpha:g}, l1_ratio={l1_ratio:g}) on {len(y)} wines:")
    for k, v in metrics.items():
        print(f"  {k}: {v:.4f}")

    t = tracker()
    with t.start_run(), tempfile.TemporaryDirectory() as tmp:
        t.log_param("alpha", args.alpha)
        t.log_param("l1_ratio", args.l1_ratio)
        t.log_metrics(metrics)
        path = os.path.join(tmp, "model.pkl")
        with open(path, "wb") as f:
            pickle.dump(model, f)
        t.log_artifact(path, artifact_path="model")
    print(f"logged through {t.__name__}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
