"""Independent NumPy reference of the Market-1501 evaluation protocol (tests only).

Two evaluations of one distance matrix, each written the way its public original works:

* standard: the common Python evaluation (torchreid's eval_market1501): sort each row, drop
  same-identity-same-camera items (and junk, id -1, which torchreid's dataset loader drops before
  evaluating), CMC from the cumulative sum of matches, AP = mean of the precision at each match;
* trapezoid: the official Market-1501 MATLAB evaluation's compute_AP: walk the ranked list,
  skipping junk, and add (recall - old_recall) * (old_precision + precision) / 2 at every
  position, starting from recall 0 and precision 1.

Both sort with a stable sort (ties by gallery index, as MATLAB's sort does).
Input arrays: distmat (float32, nq*ng), q_pids, g_pids, q_cams, g_cams (int32); params: max_rank.
"""
import numpy as np

from common import load, save


def standard(distmat, q_pids, g_pids, q_cams, g_cams, max_rank):
    nq = distmat.shape[0]
    order = np.argsort(distmat, axis=1, kind="stable")
    ap = np.full(nq, np.nan)
    first = np.zeros(nq, dtype=np.int64)
    curves = []
    for i in range(nq):
        ranked = order[i]
        pids = g_pids[ranked]
        cams = g_cams[ranked]
        removed = ((pids == q_pids[i]) & (cams == q_cams[i])) | (pids == -1)
        matches = (pids[~removed] == q_pids[i]).astype(np.int64)
        if not matches.any():
            continue
        cumulative = matches.cumsum()
        curve = np.minimum(cumulative, 1).astype(np.float64)
        if curve.size < max_rank:
            curve = np.concatenate([curve, np.ones(max_rank - curve.size)])
        curves.append(curve[:max_rank])
        first[i] = int(np.argmax(matches)) + 1
        precision = cumulative / np.arange(1, matches.size + 1)
        ap[i] = float((precision * matches).sum() / matches.sum())
    return finish(ap, first, curves, max_rank)


def official_compute_ap(good, junk, ranked):
    """One query, as the MATLAB compute_AP(good_image, junk_image, index) does it."""
    n_good = len(good)
    cmc = np.zeros(len(ranked))
    old_recall, old_precision = 0.0, 1.0
    ap = 0.0
    hits_seen = 0  # intersect_size
    position = 0  # j: non-junk items passed so far
    good_found = 0
    junk_seen = 0
    for n, item in enumerate(ranked):
        is_good = item in good
        if is_good:
            cmc[n - junk_seen :] = 1
            good_found += 1
        if item in junk:
            junk_seen += 1
            continue
        if is_good:
            hits_seen += 1
        recall = hits_seen / n_good
        precision = hits_seen / (position + 1)
        ap += (recall - old_recall) * ((old_precision + precision) / 2)
        old_recall, old_precision = recall, precision
        position += 1
        if good_found == n_good:
            break
    return ap, cmc


def trapezoid(distmat, q_pids, g_pids, q_cams, g_cams, max_rank):
    nq, ng = distmat.shape
    ap = np.full(nq, np.nan)
    first = np.zeros(nq, dtype=np.int64)
    curves = []
    for i in range(nq):
        same = g_pids == q_pids[i]
        good = set(np.flatnonzero(same & (g_cams != q_cams[i]) & (g_pids != -1)).tolist())
        junk = set(np.flatnonzero((same & (g_cams == q_cams[i])) | (g_pids == -1)).tolist())
        if not good:
            continue
        ranked = np.argsort(distmat[i], kind="stable").tolist()
        ap[i], cmc = official_compute_ap(good, junk, ranked)
        first[i] = int(np.argmax(cmc)) + 1
        curve = np.concatenate([cmc, np.ones(max(0, max_rank - ng))])
        curves.append(curve[:max_rank])
    return finish(ap, first, curves, max_rank)


def finish(ap, first, curves, max_rank):
    evaluated = len(curves)
    return {
        "mAP": float(np.nanmean(ap)) if evaluated else float("nan"),
        "cmc": (np.mean(curves, axis=0) if evaluated else np.zeros(max_rank)).tolist(),
        "perQueryAP": ap.tolist(),
        "firstHit": first.tolist(),
        "queries": evaluated,
        "skipped": int(ap.size - evaluated),
    }


def main():
    folder, a, params = load()
    nq, ng = a["q_pids"].size, a["g_pids"].size
    distmat = a["distmat"].reshape(nq, ng)
    args = (distmat, a["q_pids"], a["g_pids"], a["q_cams"], a["g_cams"], int(params["max_rank"]))
    save(folder, {"standard": standard(*args), "trapezoid": trapezoid(*args)})


if __name__ == "__main__":
    main()
