#!/bin/busybox sh
# busybox ash is checked as dash, whose read lacks the -n and -t that ash has.
# shellcheck shell=dash disable=SC3045
# /init of the QEMU test guest: sets up zombies, stopped processes and CPU
# load, loads the modules and dumps raw readings to the data port (ttyS1)
# between "@@BEGIN name" and "@@END name" markers. It judges nothing itself:
# test/check_guest_output.py parses and checks everything on the host.
# The kernel passes carnet=... from its command line as $carnet.

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
exec 3>/dev/ttyS1

carnet="${carnet:?carnet=... missing from the kernel command line}"
CPU=/proc/cpu_$carnet
RAM=/proc/ram_$carnet
PROCESOS=/proc/procesos_$carnet

# Markers carry the guest's uptime, which shows where a slow run spends time.
begin() {
	read -r uptime _ </proc/uptime
	echo "@@BEGIN $1 @$uptime" >&3
}
end() { echo "@@END $1" >&3; }

# Sets $state to the state letter in $1/stat: the field after the last ") ",
# since the command name may hold spaces or parens. Fails if it has exited.
read_state() {
	read -r stat 2>/dev/null <"$1/stat" || return 1
	state=${stat##*") "}
	state=${state%% *}
}

# "pid state" for every /proc/[pid].
dump_states() {
	begin "$1"
	for dir in /proc/[0-9]*; do
		read_state "$dir" && echo "${dir#/proc/} $state" >&3
	done
	end "$1"
}

# /proc/meminfo, then the pages that sit on per-CPU free lists (zoneinfo's
# "count:" lines): those are free but not in MemFree, and they swing by
# hundreds of KiB on their own. Read with builtins only, so no fork
# allocates memory between the two.
meminfo() {
	begin "$1"
	while read -r line; do echo "$line" >&3; done </proc/meminfo
	pcp=0
	while read -r key value _; do
		[ "$key" = count: ] && pcp=$((pcp + value))
	done </proc/zoneinfo
	echo "PerCpuFreePages: $pcp" >&3
	end "$1"
}

# Opens and reads FILE N times with the shell's read builtin: no fork per
# read, so MemAvailable moves only if the reads themselves leak. Each read
# takes one byte: that still allocates the seq_file and its buffer and runs
# the whole show function, and busybox reads byte by byte, so whole lines
# would cost ten times as long under TCG (the full lines are read above).
read_many() {
	i=0
	while [ "$i" -lt "$2" ]; do
		read -r -n 1 _ <"$1"
		i=$((i + 1))
	done
}

# Waits (up to about 20 s on a slow host) until /proc shows at least $1
# zombies and $2 stopped processes, so no count changes during the checks.
wait_for_states() {
	tries=0
	while [ "$tries" -lt 100 ]; do
		zombies=0
		stopped=0
		for dir in /proc/[0-9]*; do
			read_state "$dir" || continue
			case "$state" in
			Z) zombies=$((zombies + 1)) ;;
			T | t) stopped=$((stopped + 1)) ;;
			esac
		done
		[ "$zombies" -ge "$1" ] && [ "$stopped" -ge "$2" ] && return 0
		read -r -t 0.2 _ </dev/ttyS1
		tries=$((tries + 1))
	done
}

# Waits 0.3 s without forking (no input ever arrives on the data port), so
# that frees deferred to RCU after the last close have run.
settle() {
	read -r -t 0.3 _ </dev/ttyS1
}

# Two readings of the cpu file one second apart, /proc/stat's cpu line in
# between each pair so the host can check both agree.
cpu_window() {
	begin "$1"
	read -r first <"$CPU"
	read -r stat_line </proc/stat
	read -r after_stat <"$CPU"
	sleep 1
	read -r last <"$CPU"
	{ echo "$first"; echo "$stat_line"; echo "$after_stat"; echo "$last"; } >&3
	end "$1"
}

main() {
	begin boot
	uname -r >&3
	echo "carnet=$carnet" >&3
	end boot

	# Zombies: sh forks two children, then becomes sleep, which never waits.
	sh -c 'true & true & exec sleep 1000' &
	sh -c 'true & exec sleep 1000' &
	# Stopped processes.
	sleep 1000 &
	kill -STOP $!
	sleep 1000 &
	kill -STOP $!
	wait_for_states 3 2

	begin insmod
	for module in /lib/modules/*.ko /lib/modules/control/*.ko; do
		insmod "$module" && echo "loaded ${module##*/}" >&3
	done
	end insmod

	for file in "$CPU" "$RAM" "$PROCESOS"; do
		begin "file $file"
		cat "$file" >&3
		end "file $file"
		begin "shape $file"
		# Lines, and the last byte in hex (0a when the output ends in a newline).
		wc -l <"$file" >&3
		tail -c 1 "$file" | od -An -tx1 >&3
		end "shape $file"
	done

	dump_states states-before
	begin procesos
	read -r line <"$PROCESOS"
	echo "$line" >&3
	end procesos
	dump_states states-after

	begin ram
	read -r line <"$RAM"
	echo "$line" >&3
	# Builtins only: a forked cat would hold a MiB or two of its own while
	# meminfo is read, and free it before the second reading.
	while read -r meminfo_line; do echo "$meminfo_line" >&3; done </proc/meminfo
	read -r line <"$RAM"
	echo "$line" >&3
	end ram

	cpu_window cpu-idle
	while :; do :; done &
	loop1=$!
	while :; do :; done &
	loop2=$!
	cpu_window cpu-busy
	kill "$loop1" "$loop2"

	for file in "$CPU" "$RAM" "$PROCESOS" /proc/leak_control_seq_release \
		/proc/leak_control_no_release; do
		# Warm the slab caches first so the measured loop starts steady.
		read_many "$file" 200
		settle
		meminfo "leak-before $file"
		read_many "$file" 10000
		settle
		meminfo "leak-after $file"
	done

	begin rmmod
	rmmod "cpu_$carnet" "ram_$carnet" "procesos_$carnet" && echo "rmmod ok" >&3
	for file in "$CPU" "$RAM" "$PROCESOS"; do
		if [ -e "$file" ]; then echo "present $file" >&3; else echo "gone $file" >&3; fi
	done
	end rmmod
	echo "@@DONE" >&3
}

main
poweroff -f
