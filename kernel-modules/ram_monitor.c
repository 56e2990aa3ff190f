// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/ram_<carnet>: memory figures as one line of JSON, in the units of
 * the project's record (MiB for total and used, bytes for free and
 * available). "Used" is total minus available, so page cache that the kernel
 * can drop is not counted as used.
 */
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

static int ram_monitor_show(struct seq_file *m, void *v)
{
	struct sysinfo si;
	u64 total, free, available, used, total_pages, hundredths = 0;

	si_meminfo(&si);
	total = (u64)si.totalram * si.mem_unit;
	free = (u64)si.freeram * si.mem_unit;
	available = (u64)si_mem_available() << PAGE_SHIFT;
	used = available < total ? total - available : 0;
	/*
	 * Percentage times 100, rounded half up, computed in pages so that the
	 * product cannot overflow; no floating point in the kernel.
	 */
	total_pages = total >> PAGE_SHIFT;
	if (total_pages)
		hundredths = div64_u64((used >> PAGE_SHIFT) * 10000 + total_pages / 2,
				       total_pages);

	seq_printf(m,
		   "{\"total_ram\":%llu,\"ram_libre\":%llu,\"uso_ram\":%llu,\"porcentaje_ram\":%llu.%02llu,\"ram_disponible\":%llu}\n",
		   total >> 20, free, used >> 20, hundredths / 100, hundredths % 100, available);
	return 0;
}

static int __init ram_monitor_init(void)
{
	if (!proc_create_single(KBUILD_MODNAME, 0444, NULL, ram_monitor_show))
		return -ENOMEM;
	return 0;
}

static void __exit ram_monitor_exit(void)
{
	remove_proc_entry(KBUILD_MODNAME, NULL);
}

module_init(ram_monitor_init);
module_exit(ram_monitor_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Memory usage as JSON in /proc");
