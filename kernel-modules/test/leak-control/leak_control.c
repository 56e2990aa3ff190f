// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only negative controls for the leak check, never installed. Both files
 * open with single_open(), the way the real modules do, but release wrongly:
 *   /proc/leak_control_no_release    no .proc_release: every open leaks the
 *                                    seq_file, its buffer and seq_operations
 *   /proc/leak_control_seq_release   seq_release instead of single_release:
 *                                    every open leaks the 32-byte seq_operations
 * If the checks do not flag these, they cannot flag anything.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

static int leak_control_show(struct seq_file *m, void *v)
{
	seq_puts(m, "{}\n");
	return 0;
}

static int leak_control_open(struct inode *inode, struct file *file)
{
	return single_open(file, leak_control_show, NULL);
}

static const struct proc_ops no_release_ops = {
	.proc_open = leak_control_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
};

static const struct proc_ops seq_release_ops = {
	.proc_open = leak_control_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = seq_release,
};

static int __init leak_control_init(void)
{
	if (!proc_create("leak_control_no_release", 0444, NULL, &no_release_ops))
		return -ENOMEM;
	if (!proc_create("leak_control_seq_release", 0444, NULL, &seq_release_ops)) {
		remove_proc_entry("leak_control_no_release", NULL);
		return -ENOMEM;
	}
	return 0;
}

static void __exit leak_control_exit(void)
{
	remove_proc_entry("leak_control_seq_release", NULL);
	remove_proc_entry("leak_control_no_release", NULL);
}

module_init(leak_control_init);
module_exit(leak_control_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Deliberately leaking /proc files: negative controls for the leak check");
