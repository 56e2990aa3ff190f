// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/cpu_<carnet>: cumulative CPU time since boot, in nanoseconds, as one
 * line of JSON. The figures are the ones /proc/stat sums for its "cpu" line;
 * a reader takes two samples and divides the deltas to get a usage figure.
 */
#include <linux/cpumask.h>
#include <linux/kernel_stat.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/tick.h>
#include <linux/time64.h>

/* Same fallback as fs/proc/stat.c: NO_HZ idle time when it is tracked. */
static u64 cpu_idle_ns(const struct kernel_cpustat *kcs, int cpu)
{
	u64 idle_us = -1ULL;

	if (cpu_online(cpu))
		idle_us = get_cpu_idle_time_us(cpu, NULL);
	if (idle_us == -1ULL)
		return kcs->cpustat[CPUTIME_IDLE];
	return idle_us * NSEC_PER_USEC;
}

static u64 cpu_iowait_ns(const struct kernel_cpustat *kcs, int cpu)
{
	u64 iowait_us = -1ULL;

	if (cpu_online(cpu))
		iowait_us = get_cpu_iowait_time_us(cpu, NULL);
	if (iowait_us == -1ULL)
		return kcs->cpustat[CPUTIME_IOWAIT];
	return iowait_us * NSEC_PER_USEC;
}

static int cpu_monitor_show(struct seq_file *m, void *v)
{
	u64 total = 0, idle = 0, iowait = 0;
	int cpu;

	/*
	 * Every possible CPU, like /proc/stat: an offline CPU's counters stand
	 * still, so the sums never step backwards when a CPU is unplugged.
	 */
	for_each_possible_cpu(cpu) {
		struct kernel_cpustat kcs;
		u64 cpu_idle, cpu_iowait;

		kcpustat_cpu_fetch(&kcs, cpu);
		cpu_idle = cpu_idle_ns(&kcs, cpu);
		cpu_iowait = cpu_iowait_ns(&kcs, cpu);
		/* guest and guest_nice are already part of user and nice. */
		total += kcs.cpustat[CPUTIME_USER] + kcs.cpustat[CPUTIME_NICE] +
			 kcs.cpustat[CPUTIME_SYSTEM] + kcs.cpustat[CPUTIME_IRQ] +
			 kcs.cpustat[CPUTIME_SOFTIRQ] + kcs.cpustat[CPUTIME_STEAL] +
			 cpu_idle + cpu_iowait;
		idle += cpu_idle;
		iowait += cpu_iowait;
	}

	seq_printf(m,
		   "{\"cpus\":%u,\"total_ns\":%llu,\"busy_ns\":%llu,\"idle_ns\":%llu,\"iowait_ns\":%llu}\n",
		   num_online_cpus(), total, total - idle - iowait, idle, iowait);
	return 0;
}

static int __init cpu_monitor_init(void)
{
	if (!proc_create_single(KBUILD_MODNAME, 0444, NULL, cpu_monitor_show))
		return -ENOMEM;
	return 0;
}

static void __exit cpu_monitor_exit(void)
{
	remove_proc_entry(KBUILD_MODNAME, NULL);
}

module_init(cpu_monitor_init);
module_exit(cpu_monitor_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Cumulative CPU time since boot as JSON in /proc");
