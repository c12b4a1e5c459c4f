"""Independent NumPy reference of k-reciprocal re-ranking (Zhong et al., CVPR 2017), tests only.

Dense, as the widely used Python re_ranking(q_g_dist, q_q_dist, g_g_dist, k1, k2, lambda_value)
does it: stack the three matrices into one (nq+ng)^2 matrix, square it (unless params.squared),
divide every column by its maximum and transpose, argsort every row, build V row by row from the
k-reciprocal sets and their expansion, average V over the k2 nearest rows, then Jaccard distances
from an inverted index and the blend with the original distance. float32 like the original; the
one deliberate difference is a stable argsort, so that ties have a defined order (by index).

Input arrays: qg, qq, gg (float32); params: nq, ng, k1, k2, lambda, squared.
Output array: final (nq*ng float32).
"""
import numpy as np

from common import load, save


def reciprocal(rank, i, k):
    forward = rank[i, : k + 1]
    backward = rank[forward, : k + 1]
    rows_with_i = np.where(backward == i)[0]
    return forward[rows_with_i]


def re_ranking(qg, qq, gg, k1, k2, lam, squared):
    nq = qg.shape[0]
    dist = np.concatenate([np.concatenate([qq, qg], axis=1), np.concatenate([qg.T, gg], axis=1)], axis=0)
    dist = dist.astype(np.float32)
    if not squared:
        dist = np.power(dist, 2).astype(np.float32)
    dist = np.transpose(dist / np.max(dist, axis=0))
    n = dist.shape[0]
    rank = np.argsort(dist, axis=1, kind="stable").astype(np.int32)
    V = np.zeros_like(dist, dtype=np.float32)
    half = int(np.around(k1 / 2.0))
    for i in range(n):
        r_i = reciprocal(rank, i, k1)
        expansion = r_i
        for c in r_i:
            r_c = reciprocal(rank, c, half)
            if len(np.intersect1d(r_c, r_i)) > 2.0 / 3 * len(r_c):
                expansion = np.append(expansion, r_c)
        expansion = np.unique(expansion)
        w = np.exp(-dist[i, expansion])
        V[i, expansion] = w / np.sum(w)
    original = dist[:nq]
    if k2 != 1:
        V = np.stack([np.mean(V[rank[i, :k2], :], axis=0) for i in range(n)]).astype(np.float32)
    holders = [np.where(V[:, c] != 0)[0] for c in range(n)]
    jaccard = np.zeros_like(original, dtype=np.float32)
    for i in range(nq):
        shared = np.zeros(n, dtype=np.float32)
        for c in np.where(V[i, :] != 0)[0]:
            rows = holders[c]
            shared[rows] += np.minimum(V[i, c], V[rows, c])
        jaccard[i] = 1 - shared / (2.0 - shared)
    final = jaccard * (1 - lam) + original * lam
    return final[:, nq:]


def main():
    folder, a, p = load()
    nq, ng = int(p["nq"]), int(p["ng"])
    final = re_ranking(
        a["qg"].reshape(nq, ng),
        a["qq"].reshape(nq, nq),
        a["gg"].reshape(ng, ng),
        int(p["k1"]),
        int(p["k2"]),
        float(p["lambda"]),
        bool(p.get("squared", False)),
    )
    save(folder, {"shape": list(final.shape)}, {"final": final.ravel()})


if __name__ == "__main__":
    main()
