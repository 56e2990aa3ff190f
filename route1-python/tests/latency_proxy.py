"""A TCP proxy of the tests' own between a route and the tests' MariaDB (asyncio, on
a thread of its own): every chunk is delivered `delay_s` after it arrived, in order,
in both directions (a slow network, not a lossy one). A connection's end is delayed
like its data, so the server sees a client's close only after what the client sent
before it. On request, the server's answers to a COMMIT are held back longer: the
commit happens, its answer comes too late."""
import asyncio
import threading
import time


def _is_commit(chunk):
    """A COM_QUERY packet (after its 4-byte header, command 0x03) whose text starts with COMMIT."""
    return len(chunk) > 10 and chunk[4] == 0x03 and chunk[5:11].upper() == b"COMMIT"


class LatencyProxy:
    def __init__(self, target_port, target_host="127.0.0.1"):
        self.delay_s = 0.0
        self.commit_answer_delay_s = 0.0
        self._target = (target_host, target_port)
        self._undelivered = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="latency-proxy", daemon=True)
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._connection, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _connection(self, client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.close()
            return
        answers_held_until = [0.0]

        def watch_for_commit(chunk):
            if self.commit_answer_delay_s and _is_commit(chunk):
                answers_held_until[0] = time.monotonic() + self.commit_answer_delay_s

        await asyncio.gather(
            self._pipe(client_reader, upstream_writer, watch=watch_for_commit),
            self._pipe(upstream_reader, client_writer, held_until=lambda: answers_held_until[0]))

    async def _pipe(self, reader, writer, watch=lambda chunk: None, held_until=lambda: 0.0):
        queue = asyncio.Queue()

        async def deliver():
            while True:
                due, chunk = await queue.get()
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                self._undelivered -= 1
                if not chunk:
                    writer.close()
                    return
                try:
                    writer.write(chunk)
                except (ConnectionError, RuntimeError):
                    pass  # the other side is gone; its end is on its way

        delivering = asyncio.create_task(deliver())
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionError:
                chunk = b""
            watch(chunk)
            self._undelivered += 1
            queue.put_nowait((max(time.monotonic() + self.delay_s, held_until()), chunk))
            if not chunk:
                break
        await delivering

    def wait_drained(self, timeout_s=10):
        """Until everything received so far has been delivered."""
        deadline = time.monotonic() + timeout_s
        while self._undelivered:
            assert time.monotonic() < deadline, f"the proxy still held data after {timeout_s} s"
            time.sleep(0.05)

    def close(self):
        async def shut_down():
            self._server.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self._call(shut_down())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
