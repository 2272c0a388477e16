"""zoo.get benchmark: build + load of cached weights against each library's own path.

    .venv/bin/python bench/get.py                      # all models, writes bench/results/get.md
    .venv/bin/python bench/get.py --repeat 9 --models resnet50,vit_b_16

On the same local checkpoints, made by this script (random initialisation, saved the
way each library publishes them): torchvision ResNet-50 and ViT-B/16 (pickled state
dicts, as download.pytorch.org serves them), timm ViT-B/16 (safetensors) and a
BERT-base-sized text model (``save_pretrained`` directory). Each is registered in a
temporary registry and fetched once, so zoo's cache is warm; imports are warm too.

Paths, each asked for a 10-class head:

- ``zoo``: ``zoo.get(name, num_classes=10, device="cpu")``;
- ``torchvision``: build, ``torch.load``, ``load_state_dict``, swap the head;
- ``timm``: ``timm.create_model(..., pretrained=True, num_classes=10,
  pretrained_cfg_overlay=dict(file=...))``;
- ``transformers``: ``AutoModelForSequenceClassification.from_pretrained(dir,
  num_labels=10, ignore_mismatched_sizes=True)``;
- ``floor``: build on ``meta`` + ``safetensors.torch.load_file`` (zoo's cached file) +
  ``load_state_dict(assign=True)`` — no registry, no verification, no head swap.

In-process times are medians of ``--repeat`` interleaved runs. Peak memory growth
(VmHWM after the call minus RSS before it, the peak reset through
/proc/self/clear_refs) and whole-process time to the first forward pass are measured in
a fresh subprocess per path. Every number in the output is measured in this run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "get.md"
TARGETS = {"resnet50": 5.0, "vit_b_16": 20.0}  # DESIGN.md: zoo vs torchvision, in-process
FLOOR_TARGET = 1.5
MEMORY_TARGET = 1.2
OWN_TARGET_S = 0.150  # issue #9: zoo's own time in a fresh process
WHOLE_TARGET = 1.0  # issue #9: whole process to the first forward, zoo vs the library's own path

MODELS = {
    # key: (zoo name, the library's path, the bench's family or None for the plugin's)
    "resnet50": ("bench/resnet50", "torchvision"),
    "vit_b_16": ("bench/vit_b_16", "torchvision"),
    "timm_vit_b16": ("bench/timm-vit-b16", "timm"),
    "bert_base": ("bench/bert-base", "transformers"),
}
TIMM_FAMILY = "bench-timm-vit-b16"


# -- checkpoints and registry (parent process) -----------------------------------------------


def prepare(work: Path, models: list[str]) -> dict:
    """Write the checkpoints, register them, fetch them once (zoo's cache warm)."""
    import torch

    import zoo
    from zoo.plugins import default_host, ensure_synced
    from zoo.records import Family, License, Source, Weights
    from zoo.weights import sha256_file

    registry = zoo.Registry(f"sqlite:///{work / 'home' / 'registry.db'}")
    ensure_synced(registry, default_host())
    torch.manual_seed(0)
    meta: dict = {"registry": registry.url}
    for key in models:
        name, library = MODELS[key]
        if key in ("resnet50", "vit_b_16"):
            import torchvision

            path = work / f"{key}.pth"
            torch.save(getattr(torchvision.models, key)().state_dict(), path)
            arch, source = key, path
        elif key == "timm_vit_b16":
            import timm
            from safetensors.torch import save_file

            path = work / "timm-vit-b16.safetensors"
            save_file(timm.create_model("vit_base_patch16_224").state_dict(), str(path))
            registry.add_family(
                Family(
                    name=TIMM_FAMILY,
                    modality="vision",
                    builder="timm:create_model",
                    builder_kwargs={"model_name": "vit_base_patch16_224", "pretrained": False},
                    head="head",
                )
            )
            arch, source = TIMM_FAMILY, path
        else:
            import transformers

            path = work / "bert-base"
            transformers.BertModel(transformers.BertConfig()).save_pretrained(path)  # bert-base-sized
            arch, source = "bert-base-uncased", path / "model.safetensors"
        registry.register(
            Weights(
                arch=arch,
                name=name,
                sources=(Source(source.as_uri()),),
                sha256=sha256_file(source),
                license=License("Apache-2.0", "allowed"),
                format="pickle" if source.suffix == ".pth" else "safetensors",
            )
        )
        model = zoo.get(name, num_classes=10, device="cpu", registry=registry, progress=False)
        meta[key] = {
            "checkpoint": str(path),
            "cached": str(model.zoo.path),
            "bytes": model.zoo.path.stat().st_size,
            "name": name,
            "library": library,
        }
        del model
        gc.collect()
    registry.close()
    return meta


# -- integrity: in-place edits that keep size and mtime -----------------------------------------------


def integrity(key: str, info: dict, registry, edits: int) -> tuple[int, int, int]:
    """Damage zoo's cached file in place ``edits`` times (single bytes and 4 KiB spans,
    spread from the header to the last byte; size and mtime restored), call ``zoo.get``
    after each. Returns (edits, refused with a typed error, loads whose weights were
    still exactly the checkpoint's: a converted pickle is rebuilt from its intact original)."""
    import torch
    from safetensors.torch import load_file

    import zoo
    from zoo.errors import ZooFormatError, ZooIntegrityError

    reference = {k: v.clone() for k, v in load_file(info["cached"]).items()}
    refused = repaired = 0
    for i in range(edits):
        path = Path(info["cached"])
        zoo.get(info["name"], num_classes=10, device="cpu", registry=registry, progress=False)  # present, verified
        size, st = path.stat().st_size, path.stat()
        width = 1 if i % 2 == 0 else 4096
        offset = min(8 + (size - 8) * (i // 2) // max(edits // 2 - 1, 1), size - width)
        with open(path, "r+b") as f:
            f.seek(offset)
            old = f.read(width)
            f.seek(offset)
            f.write(bytes(b ^ (1 << (i % 8)) for b in old))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        try:
            model = zoo.get(info["name"], num_classes=10, device="cpu", registry=registry, progress=False)
        except (ZooIntegrityError, ZooFormatError):
            refused += 1
            continue
        state = model.state_dict()
        head = {k for k in reference if k not in state or state[k].shape != reference[k].shape}
        if all(torch.equal(state[k].to(reference[k].dtype), reference[k]) for k in reference if k not in head):
            repaired += 1
    return edits, refused, repaired


# -- the paths -----------------------------------------------------------------------------------


def make_paths(key: str, info: dict, registry=None) -> dict:
    """name -> zero-argument function returning the model with a 10-class head."""
    import torch
    from safetensors.torch import load_file

    cached = info["cached"]
    paths = {}

    def zoo_path():
        import zoo

        return zoo.get(info["name"], num_classes=10, device="cpu", registry=registry, progress=False)

    paths["zoo"] = zoo_path
    if key in ("resnet50", "vit_b_16"):
        import torchvision

        builder = getattr(torchvision.models, key)

        def torchvision_path():
            model = builder()
            model.load_state_dict(torch.load(info["checkpoint"], map_location="cpu", weights_only=True))
            if key == "resnet50":
                model.fc = torch.nn.Linear(model.fc.in_features, 10)
            else:
                model.heads.head = torch.nn.Linear(model.heads.head.in_features, 10)
            return model.eval()

        def floor():
            with torch.device("meta"):
                model = builder()
            model.load_state_dict(load_file(cached), assign=True)
            return model

        paths["torchvision"] = torchvision_path
    elif key == "timm_vit_b16":
        import timm

        def timm_path():
            return timm.create_model(
                "vit_base_patch16_224",
                pretrained=True,
                num_classes=10,
                pretrained_cfg_overlay=dict(file=info["checkpoint"]),
            ).eval()

        def floor():
            with torch.device("meta"):
                model = timm.create_model("vit_base_patch16_224")
            model.load_state_dict(load_file(cached), assign=True)
            return model

        paths["timm"] = timm_path
    else:
        import transformers

        transformers.logging.set_verbosity_error()  # its per-load report and progress bar
        transformers.logging.disable_progress_bar()

        def transformers_path():
            return transformers.AutoModelForSequenceClassification.from_pretrained(
                info["checkpoint"], num_labels=10, ignore_mismatched_sizes=True
            ).eval()

        config = transformers.BertConfig()

        def floor():
            with torch.device("meta"):
                model = transformers.BertModel(config)
            model.load_state_dict(load_file(cached), assign=True)
            return model

        paths["transformers"] = transformers_path
    paths["floor"] = floor
    return paths


def forward(key: str, model) -> None:
    import torch

    with torch.no_grad():
        if key == "bert_base":
            ids = torch.randint(1000, 2000, (1, 128))
            model(input_ids=ids, attention_mask=torch.ones_like(ids))
        else:
            model(torch.randn(1, 3, 224, 224))


# -- children: memory and whole-process time -------------------------------------------------------


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


LIBRARY_MODULES = {
    "resnet50": "torchvision",
    "vit_b_16": "torchvision",
    "timm_vit_b16": "timm",
    "bert_base": "transformers",
}


def child(key: str, path: str, mode: str, info: dict) -> None:
    if mode == "e2e":  # whole process: imports, build, load, first forward
        paths = make_paths(key, info)
        forward(key, paths[path]())
        return
    if mode == "cold":  # a fresh process: the call alone, after torch and the model library are imported
        import importlib

        t0 = time.perf_counter()
        import safetensors.torch  # noqa: F401
        import torch

        importlib.import_module(LIBRARY_MODULES[key])
        t1 = time.perf_counter()
        fn = make_paths(key, info)[path]
        library = [0.0]
        t2 = time.perf_counter()
        if path == "zoo":  # the library's share of zoo.get: build on meta, real builds, tensor reading
            from zoo import _loading

            def timed(f):
                def wrapper(*a, **kw):
                    start = time.perf_counter()
                    try:
                        return f(*a, **kw)
                    finally:
                        library[0] += time.perf_counter() - start

                return wrapper

            for name in ("build_on_meta", "materialise"):
                setattr(_loading, name, timed(getattr(_loading, name)))
            # Reading the tensors: begin_open maps the file and hashes every byte in the
            # background (the read itself); waiting for it and viewing the tensors is the
            # call it returns.
            begin_open = _loading.begin_open
            _loading.begin_open = lambda *a, **kw: timed(begin_open(*a, **kw))
        fn()
        t3 = time.perf_counter()
        print(
            json.dumps(
                {
                    "imports": t1 - t0,
                    "call": t3 - t2,
                    "library": library[0],
                    "sqlalchemy": "sqlalchemy" in sys.modules,
                    "catalogue": sorted(
                        m
                        for m in sys.modules
                        if m.rsplit(".", 1)[-1] in ("_catalogue", "catalogue") and m.startswith("zoo_")
                    ),
                }
            )
        )
        return
    import zoo
    from zoo.plugins import default_host

    registry = zoo.Registry(info["registry"])
    default_host()  # a process-wide, one-time cost, like the imports
    fn = make_paths(key, info, registry)[path]
    # One warm run, so that lazy imports (model modules, loaders) are not counted; the
    # memory it freed goes back to the OS (malloc_trim), so the measured run cannot
    # reuse it and look smaller than it is.
    fn()
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc
        pass
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM (peak RSS) to the current RSS
    before = _status("VmRSS")
    model = fn()
    after_get = _status("VmHWM")
    import torch

    with torch.no_grad():  # read every byte: memory-mapped weights become resident
        for tensor in model.state_dict().values():
            tensor.float().sum() if tensor.dtype != torch.float32 else tensor.sum()
    resident = _status("VmHWM")
    forward(key, model)
    after_forward = _status("VmHWM")
    print(json.dumps({"get": after_get - before, "resident": resident - before, "forward": after_forward - before}))


def run_child(args: list[str], env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True)
    if proc.returncode:  # say why, not only that a child failed
        raise SystemExit(f"child {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


# -- main ------------------------------------------------------------------------------------------


def median_times(paths: dict, repeat: int) -> dict[str, float]:
    for fn in paths.values():  # warm: imports, caches, the registry's connection
        fn()
        gc.collect()
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeat):
        for name, fn in paths.items():  # interleaved: machine noise hits every path alike
            t0 = time.perf_counter()
            model = fn()
            times[name].append(time.perf_counter() - t0)
            del model
            gc.collect()
    return {name: statistics.median(ts) for name, ts in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--repeat", type=int, default=7, help="in-process runs per path (median)")
    parser.add_argument("--e2e-repeat", type=int, default=3, help="whole-process runs per path (median)")
    parser.add_argument("--output", default=str(RESULTS), help="markdown report ('-' for none)")
    parser.add_argument("--edits", type=int, default=20, help="in-place edits of each cached file (0: none)")
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "PATH", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child, json.loads(os.environ["ZOO_BENCH_INFO"]))
        return 0

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(models) - set(MODELS)
    if unknown:
        parser.error(f"unknown models: {', '.join(sorted(unknown))}")
    import torch

    lines = []

    def out(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory(prefix="zoo-bench-get-") as tmp:
        work = Path(tmp)
        os.environ["ZOO_HOME"] = str(work / "home")
        os.environ.pop("ZOO_REGISTRY_URL", None)
        meta = prepare(work, models)
        out("# zoo.get benchmark")
        out()
        out(
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, device cpu; Python {platform.python_version()}. "
            f"In-process: median of {args.repeat} interleaved runs, cache and imports warm. "
            f"Whole process: median of {args.e2e_repeat} interleaved runs. Load average at the start: "
            f"{os.getloadavg()[0]:.1f}. All numbers measured in the same run."
        )
        out()
        out(
            "| model | checkpoint | path | in-process | zoo speed-up | target | peak RSS growth: get / all "
            "weights resident / first forward | resident x checkpoint | whole process to 1st forward |"
        )
        out("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        verdicts = []
        cold_rows: list = []
        for key in models:
            info = {**meta[key], "registry": meta["registry"]}
            registry = __import__("zoo").Registry(meta["registry"])
            times = median_times(make_paths(key, info, registry), args.repeat)
            registry.close()
            env = {**os.environ, "ZOO_BENCH_INFO": json.dumps(info)}
            size = info["bytes"]
            e2e: dict[str, list[float]] = {path: [] for path in times}
            for _ in range(args.e2e_repeat):
                for path in times:  # interleaved, like the in-process runs
                    t0 = time.perf_counter()
                    run_child(["--child", key, path, "e2e"], env)
                    e2e[path].append(time.perf_counter() - t0)
            cold: dict[str, list[dict]] = {"zoo": [], "floor": []}
            for _ in range(args.e2e_repeat):
                for path in cold:
                    out_ = run_child(["--child", key, path, "cold"], env).stdout.strip().splitlines()[-1]
                    cold[path].append(json.loads(out_))
            library = next(p for p in times if p not in ("zoo", "floor"))
            own = statistics.median(c["call"] - c["library"] for c in cold["zoo"])
            whole = statistics.median(e2e["zoo"]) / statistics.median(e2e[library])
            cold_rows.append((key, library, cold, own, whole))
            verdicts += [
                (key, "zoo's own time", own <= OWN_TARGET_S),
                (key, f"whole process vs {library}", whole <= WHOLE_TARGET),
            ]
            for path in times:
                mem = json.loads(run_child(["--child", key, path, "mem"], env).stdout.strip().splitlines()[-1])
                if path == "zoo":
                    ratio, target = "1.0x", ""
                else:
                    r = times[path] / times["zoo"]
                    ratio = f"{r:.1f}x" if path != "floor" else f"zoo at {times['zoo'] / times['floor']:.2f}x the floor"
                    if path == "floor":
                        ok = times["zoo"] / times["floor"] <= FLOOR_TARGET
                        target = f"<= {FLOOR_TARGET}x {'met' if ok else 'MISSED'}"
                        verdicts.append((key, "vs floor", ok))
                    elif key in TARGETS:
                        ok = r >= TARGETS[key]
                        target = f">= {TARGETS[key]:.0f}x {'met' if ok else 'MISSED'}"
                        verdicts.append((key, f"vs {path}", ok))
                    else:
                        target = "(none set)"
                mem_ratio = mem["resident"] / size
                mem_note = ""
                if path == "zoo":
                    ok = mem_ratio <= MEMORY_TARGET
                    mem_note = f" ({'<=' if ok else '>'} {MEMORY_TARGET}x {'met' if ok else 'MISSED'})"
                    verdicts.append((key, "memory", ok))
                out(
                    f"| {key} | {size / 1e6:.0f} MB | {path} | {times[path] * 1e3:.0f} ms | {ratio} | {target} | "
                    f"{mem['get'] / 1e6:.0f} / {mem['resident'] / 1e6:.0f} / {mem['forward'] / 1e6:.0f} MB | {mem_ratio:.2f}x{mem_note} | "
                    f"{statistics.median(e2e[path]):.2f} s |"
                )
        out()
        out(
            "Cold start, each a fresh process (median of the same runs): the library import is `import torch, "
            "safetensors` and the model library; then the call alone, including `import zoo`. zoo's own time = "
            "zoo.get minus the time spent in the library's build (on meta, and any real build for recomputed "
            "buffers) and in reading the tensors (mapping the file, hashing every byte, viewing the tensors), measured inside the same call: importing zoo, the registry "
            "read, plugins, policy, cache check, key adapter, head. The floor is the library's minimal path "
            "(build on meta + safetensors load) in a fresh process, for reference."
        )
        out()
        out(
            "| model | library import | zoo.get, fresh process | floor, fresh process | zoo's own time | target | "
            "SQLAlchemy / plugin catalogue imported by zoo.get | whole process: zoo / library's path | target |"
        )
        out("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for key, library, cold, own, whole in cold_rows:
            z, f = cold["zoo"], cold["floor"]
            imported = f"{'yes' if any(c['sqlalchemy'] for c in z) else 'no'} / " + (
                ", ".join(sorted({m for c in z for m in c["catalogue"]})) or "no"
            )
            out(
                f"| {key} | {statistics.median(c['imports'] for c in z):.2f} s | "
                f"{statistics.median(c['call'] for c in z) * 1e3:.0f} ms | "
                f"{statistics.median(c['call'] for c in f) * 1e3:.0f} ms | {own * 1e3:.0f} ms | "
                f"<= {OWN_TARGET_S * 1e3:.0f} ms {'met' if own <= OWN_TARGET_S else 'MISSED'} | {imported} | "
                f"{whole:.2f}x ({library}) | <= {WHOLE_TARGET:.1f}x {'met' if whole <= WHOLE_TARGET else 'MISSED'} |"
            )
        out()
        if args.edits:
            out(
                "In-place damage of zoo's cached file (size and mtime kept), then `zoo.get`: every edit must "
                "end in a typed error or in the checkpoint's exact weights (a converted pickle is rebuilt "
                "from its verified original), never in altered weights."
            )
            out()
            out(
                "| model | edits (1 B and 4 KiB, header to last byte) | refused (ZooIntegrityError) | "
                "repaired, exact weights | altered weights returned |"
            )
            out("| --- | --- | --- | --- | --- |")
            for key in models:
                registry = __import__("zoo").Registry(meta["registry"])
                n, refused, repaired = integrity(key, {**meta[key], "registry": meta["registry"]}, registry, args.edits)
                registry.close()
                verdicts.append((key, "integrity", refused + repaired == n))
                out(f"| {key} | {n} | {refused} | {repaired} | {n - refused - repaired} |")
            out()
        missed = [f"{k} {what}" for k, what, ok in verdicts if not ok]
        out(
            "Targets (DESIGN.md, issues #9 and #11): zoo >= 5x torchvision's path for ResNet-50 and >= 20x for ViT-B/16, "
            "within 1.5x of the floor, peak memory growth <= 1.2x the checkpoint's bytes, every in-place edit caught; "
            "in a fresh process zoo's own time <= 150 ms and the whole process to the first forward <= 1.0x the "
            "library's own path. " + ("All met." if not missed else "Missed: " + ", ".join(missed) + ".")
        )
        out()
        out(
            "zoo's in-process time includes the registry lookup, the policy checks, the per-load integrity "
            "check (stat, then xxh3 of every byte of the mapped file, hashed in 16 MiB pieces on several "
            "threads while the model is built on meta, the tensors then viewing that same map) and the new "
            "head; the floor has none of them and reads no weight byte before the first forward. "
            "The floor builds on meta with the library's own initialisers running on meta tensors; zoo skips "
            "them (they compute nothing there), which is why it can beat the floor. zoo and the floor map "
            "the checkpoint from the cache (safetensors, mmap): zoo has read every page for its check right "
            "after the call, the floor's pages become resident at the first forward; "
            "the memory figure that the target applies to is the peak once every weight byte was read "
            '("resident"), in a fresh process after one warm run of the same path. The first forward adds activations and the math libraries\' one-time '
            "workspaces, alike for every path."
        )
    if args.output != "-":
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
