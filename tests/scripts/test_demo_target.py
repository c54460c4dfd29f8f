"""`scripts/demo.py` enforces its AP50 target: status 1 when missed, 0 when reached.

The demo's stages are replaced by stand-ins returning fixed metrics, so only the verdict and
the exit status are exercised (the real stages are tested elsewhere).
"""

import pytest
from absl import flags
from script_modules import load_script

demo = load_script("demo")


def test_missed_target_compares_ap50_with_the_target():
    assert demo.missed_target({"AP50": demo.TARGET_AP50 - 0.01})
    assert not demo.missed_target({"AP50": demo.TARGET_AP50})
    assert not demo.missed_target({"AP50": 0.5}, target=0.4)


def _run_main(monkeypatch, tmp_path, ap50, trained_configs=None, exported_configs=None):
    """Runs the demo's main with stand-in stages; `trained_configs` and `exported_configs`
    collect the configs it trains and exports."""
    metrics = {k: 0.5 for k in ("AP", "AP75", "APs", "APm", "APl")} | {"AP50": ap50}
    trained_configs = [] if trained_configs is None else trained_configs
    exported_configs = [] if exported_configs is None else exported_configs
    monkeypatch.setattr(
        demo,
        "train_experiment",
        lambda cfg, d: trained_configs.append(cfg) or (None, {"final_step": 1, "loss/total": 1.0}),
    )
    monkeypatch.setattr(demo, "evaluate_model", lambda *a, **k: metrics)
    monkeypatch.setattr(
        demo,
        "export_saved_model",
        lambda cfg, *a: exported_configs.append(cfg) or str(tmp_path / "export"),
    )
    monkeypatch.setattr(demo, "write_held_out_images", lambda *a: [])
    monkeypatch.setattr(demo, "saved_model_detector", lambda d: None)
    monkeypatch.setattr(demo, "predict_images", lambda *a, **k: None)
    flags.FLAGS(["demo", f"--model_dir={tmp_path}"], known_only=True)
    demo.main(["demo"])


def test_demo_exits_1_when_it_misses_its_target(monkeypatch, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        _run_main(monkeypatch, tmp_path, demo.TARGET_AP50 - 0.1)
    assert exited.value.code == 1
    assert "MISSED" in capsys.readouterr().out


def test_demo_returns_normally_when_it_reaches_its_target(monkeypatch, tmp_path, capsys):
    _run_main(monkeypatch, tmp_path, demo.TARGET_AP50 + 0.1)
    assert "reached" in capsys.readouterr().out


def test_demo_trains_in_bfloat16_exactly_where_the_cpu_has_bfloat16_units(monkeypatch):
    monkeypatch.setattr(demo, "cpu_bfloat16_flags", lambda: ("amx_bf16", "avx512_bf16"))
    assert demo.demo_precision(None) == (
        "mixed_bfloat16",
        "this CPU has amx_bf16 and avx512_bf16",
    )
    assert demo.demo_precision("float32")[0] == "float32"
    monkeypatch.setattr(demo, "cpu_bfloat16_flags", lambda: ())
    assert demo.demo_precision(None)[0] == "float32"


def test_demo_prints_its_precision_and_trains_the_config_in_it(monkeypatch, tmp_path, capsys):
    trained, exported = [], []
    monkeypatch.setattr(demo, "cpu_bfloat16_flags", lambda: ("avx512_bf16",))
    _run_main(monkeypatch, tmp_path, demo.TARGET_AP50 + 0.1, trained, exported)
    assert trained[0].model.precision == "mixed_bfloat16"
    # It serves in bfloat16: mixed_bfloat16's outputs with the weights stored in bfloat16.
    assert exported[0].model.precision == "bfloat16"
    assert "precision: mixed_bfloat16 (this CPU has avx512_bf16)" in capsys.readouterr().out


def test_demo_exports_float32_training_in_float32(monkeypatch, tmp_path):
    exported = []
    monkeypatch.setattr(demo, "cpu_bfloat16_flags", lambda: ())
    _run_main(monkeypatch, tmp_path, demo.TARGET_AP50 + 0.1, exported_configs=exported)
    assert exported[0].model.precision == "float32"
