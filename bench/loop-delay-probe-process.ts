// A process that does nothing but watch its own event loop: sampled beside the soak's worker process, it
// shows how late this machine runs a timer of a process that is not busy (other processes' CPU), so a worker
// whose loop slows can be told from a machine that got busier. Talks to its parent over the IPC channel.
import { startLoopDelayMonitor } from './loop-delay.ts';
import type { ProbeReply, ProbeRequest } from './scenarios/loop-delay-probe.ts';

const monitor = startLoopDelayMonitor();

process.on('message', (message: ProbeRequest) => {
  if (message.type === 'sample') {
    const reply: ProbeReply = { type: 'sample', loopDelay: monitor.read() };
    process.send?.(reply);
  } else {
    monitor.stop();
    process.exit(0);
  }
});
// Orphaned (the bench killed): nothing left to answer.
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' } satisfies ProbeReply);
