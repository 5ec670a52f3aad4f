from nonconvex_reg.verify import Check
from omp.verify import run_omp_checks


def test_every_omp_check_matches_the_theory_and_reports_progress():
    seen = []
    checks = run_omp_checks(seed=0, progress=seen.append)
    assert checks == seen and all(isinstance(c, Check) for c in checks)
    assert all(type(c.ok) is bool for c in checks)  # JSON-ready, summable
    failed = [c for c in checks if not c.ok]
    assert failed == []
    names = {c.check for c in checks}
    assert {
        "group OMP = sklearn orthogonal_mp",
        "group OMP, k = n_groups = least squares",
        "group OMPR <= group OMP",
        "group OMPR = exhaustive optimum",
        "Algorithm 2 selection = gradient-norm rule",
        "Theorem B.3",
    } == names
    theorem = [c for c in checks if c.check == "Theorem B.3"]
    assert [c.observed for c in theorem] == ["confirmed", "confirmed"]
