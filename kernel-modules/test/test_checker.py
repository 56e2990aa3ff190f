"""Unit tests of the checker's parsing: a malformed module output must fail."""
import io
import unittest
from contextlib import redirect_stdout

from check_guest_output import Checker, parse_record, parse_sections

GOOD_RAM = ('{"total_ram":203,"ram_libre":184729600,"uso_ram":24,'
            '"porcentaje_ram":11.90,"ram_disponible":188084224}')


def run(kind, line):
    c = Checker()
    with redirect_stdout(io.StringIO()):
        record = parse_record(kind, line, c, "t")
    return record, c.failed


class ParseRecordTest(unittest.TestCase):
    def test_good_line_passes(self):
        record, failed = run("ram", GOOD_RAM)
        self.assertEqual(failed, 0)
        self.assertEqual(record["porcentaje_ram"], 11.9)

    def test_invalid_json_fails(self):
        self.assertEqual(run("ram", GOOD_RAM[:-1])[1], 1)

    def test_key_order_matters(self):
        swapped = GOOD_RAM.replace('"total_ram":203,"ram_libre":184729600',
                                   '"ram_libre":184729600,"total_ram":203')
        self.assertEqual(run("ram", swapped)[1], 1)

    def test_extra_or_missing_key_fails(self):
        self.assertEqual(run("ram", GOOD_RAM[:-1] + ',"x":1}')[1], 1)
        self.assertEqual(run("cpu", '{"cpus":2,"total_ns":1,"busy_ns":1,"idle_ns":0}')[1], 1)

    def test_non_integer_counter_fails(self):
        line = ('{"procesos_corriendo":1.5,"total_procesos":2,"procesos_durmiendo":0,'
                '"procesos_zombie":0,"procesos_parados":0}')
        self.assertEqual(run("procesos", line)[1], 1)

    def test_negative_fails(self):
        line = '{"cpus":2,"total_ns":1,"busy_ns":-1,"idle_ns":2,"iowait_ns":0}'
        self.assertEqual(run("cpu", line)[1], 1)


class ParseSectionsTest(unittest.TestCase):
    def test_markers_with_uptime_and_carriage_returns(self):
        text = "noise\r\n@@BEGIN file /proc/x @12.34\r\nline\r\n@@END file /proc/x\r\n"
        self.assertEqual(parse_sections(text), {"file /proc/x": ["line"]})

    def test_unterminated_section_is_dropped(self):
        self.assertEqual(parse_sections("@@BEGIN a @1.00\nline\n"), {})


if __name__ == "__main__":
    unittest.main()
