// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/procesos_<carnet>: how many processes are running, sleeping, zombie
 * and stopped, as one line of JSON. Every process (thread-group leader, as in
 * /proc/[pid]) lands in exactly one category, so the four add up to the total.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>

struct process_counts {
	unsigned int running, sleeping, zombie, stopped, total;
};

static void count_process(struct process_counts *c, const struct task_struct *p)
{
	unsigned int state = READ_ONCE(p->__state);
	unsigned int exit_state = READ_ONCE(p->exit_state);

	c->total++;
	/* A zombie's __state is TASK_DEAD: only exit_state tells it apart. */
	if (exit_state & EXIT_ZOMBIE)
		c->zombie++;
	/* Already reaped (EXIT_DEAD), gone in a moment: it will never run again. */
	else if (exit_state)
		c->sleeping++;
	else if (state & (__TASK_STOPPED | __TASK_TRACED))
		c->stopped++;
	/* Runnable, or in the middle of a wake-up or of fork (shown as R). */
	else if (!(state & ~(TASK_WAKING | TASK_NEW)))
		c->running++;
	/* Every other state waits: TASK_IDLE, parked, frozen, killable... */
	else
		c->sleeping++;
}

static int procesos_monitor_show(struct seq_file *m, void *v)
{
	struct process_counts c = {};
	struct task_struct *p;

	rcu_read_lock();
	for_each_process(p)
		count_process(&c, p);
	rcu_read_unlock();

	seq_printf(m,
		   "{\"procesos_corriendo\":%u,\"total_procesos\":%u,\"procesos_durmiendo\":%u,\"procesos_zombie\":%u,\"procesos_parados\":%u}\n",
		   c.running, c.total, c.sleeping, c.zombie, c.stopped);
	return 0;
}

static int __init procesos_monitor_init(void)
{
	if (!proc_create_single(KBUILD_MODNAME, 0444, NULL, procesos_monitor_show))
		return -ENOMEM;
	return 0;
}

static void __exit procesos_monitor_exit(void)
{
	remove_proc_entry(KBUILD_MODNAME, NULL);
}

module_init(procesos_monitor_init);
module_exit(procesos_monitor_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Process counts by state as JSON in /proc");
