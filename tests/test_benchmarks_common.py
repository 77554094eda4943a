"""benchmarks.common.cpuinfo: the machine line every benchmark JSON carries names the CPU's
family, model and SIMD extensions, not only its marketing name."""

from benchmarks.common import cpuinfo, machine


def test_cpuinfo_reads_the_first_processor(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\n"
        "model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni avx512_bf16\n\n"
        "processor\t: 1\ncpu family\t: 25\nmodel name\t: other\nflags\t\t: avx2\n"
    )
    assert cpuinfo(str(f)) == {"cpu_family": 26, "cpu_model": 2, "cpu": "AMD EPYC",
                               "simd": ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"]}


def test_cpuinfo_without_the_file_is_empty(tmp_path):
    assert cpuinfo(str(tmp_path / "absent")) == {}


def test_machine_names_the_cores_and_versions():
    m = machine()
    assert m["cores"] >= 1 and m["python"].count(".") == 2
    assert "onnxruntime" in m and "cpu" in m
