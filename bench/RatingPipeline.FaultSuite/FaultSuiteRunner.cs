using System.Diagnostics;
using Confluent.Kafka;
using RatingPipeline.Kafka;
using RatingPipeline.Sender.Gateway;
using RatingPipeline.Synthetic;

namespace RatingPipeline.FaultSuite;

/// <summary>
/// The fault suite: an embedded cluster and a loopback SMS gateway in this process, raters and the sender as
/// child processes, a paced stream of synthetic CDRs, and a schedule of faults (SIGKILLed raters and sender,
/// request errors, the broker down, latency, a tariff switch, a second instance that joins and one that
/// leaves). At the end every topic and the gateway's deliveries are compared with the offline reference run;
/// see <see cref="Verification"/> and <see cref="NoticeVerification"/>.
/// </summary>
public static class FaultSuiteRunner
{
    private const string RaterGroup = "fault-suite-rater";
    private const string SenderGroup = "fault-suite-sender";

    public static async Task<SuiteReport> RunAsync(FaultSuiteOptions options, TextWriter output, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var errors = options.Validate().ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        using var run = new Run(options, output);
        return await run.ExecuteAsync(cancel);
    }

    private sealed class Run(FaultSuiteOptions options, TextWriter output) : IDisposable
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly SuiteReport _report = new();
        private readonly Random _random = new(options.Seed);
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(3) };
        private readonly List<WorkerProcess> _raters = [];
        private WorkerProcess? _sender;
        private LoopbackGateway? _gateway;
        private readonly HashSet<WorkerProcess> _expectedRunning = [];
        private readonly Lock _workers = new();
        private EmbeddedCluster? _cluster;
        private CdrStream? _stream;
        private IConsumer<byte[], byte[]>? _offsets;
        private string _work = "";
        private string _tariffPath = "";

        public async Task<SuiteReport> ExecuteAsync(CancellationToken cancel)
        {
            using var capped = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            capped.CancelAfter(options.DurationCap);
            var stop = capped.Token;
            try
            {
                await PrepareAsync(stop);
                var streaming = _stream!.RunAsync(options.Rate, stop);
                using var monitorStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
                var monitor = MonitorAsync(monitorStop.Token);
                await InjectFaultsAsync(stop);
                await streaming;
                Log($"stream done: {_stream.Produced} CDRs produced");
                if (!_stream.Flush(TimeSpan.FromSeconds(120)))
                {
                    Log("not every CDR was acknowledged within 120 s");
                }

                Heal();
                await EnsureOneRaterAsync(stop);
                await WaitDrainedAsync(stop);
                await WaitNoticesDoneAsync(stop);
                await monitorStop.CancelAsync();
                await monitor;
                await StopWorkersAsync();
                await VerifyAsync(stop);
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                _report.Check("finished within the duration cap", false, $"stopped after {options.DurationCap.TotalSeconds:F0} s");
            }
            catch (Exception e) when (e is TimeoutException or KafkaException or InvalidOperationException or IOException)
            {
                _report.Check("run completed", false, $"{e.GetType().Name}: {e.Message}");
            }
            finally
            {
                _report.Elapsed = _clock.Elapsed;
                _report.RaterRestarts = _raters.Sum(r => r.Restarts);
                _report.RaterRecoveries = (long)_raters.Sum(r => r.TotalRecoveries);
                _report.HungClientExits = _raters.Sum(r => r.HungClientExits);
                _report.SenderRestarts = _sender?.Restarts ?? 0;
            }

            return _report;
        }

        private async Task PrepareAsync(CancellationToken stop)
        {
            _work = options.WorkDir ?? Path.Combine(Path.GetTempPath(), $"ratingpipeline-faults-{Environment.ProcessId}-{DateTime.UtcNow:yyyyMMddHHmmss}");
            var logs = Path.Combine(_work, "logs");
            Directory.CreateDirectory(logs);
            _cluster = EmbeddedCluster.Start(options.Partitions);
            Log($"cluster bootstrap={_cluster.BootstrapServers}, {options.Partitions} partitions per topic; work folder {_work}");

            _tariffPath = Path.Combine(_work, "tariff.json");
            await File.WriteAllBytesAsync(_tariffPath, SyntheticData.DemoTariffWithMonthlyFees(), stop);

            _stream = new CdrStream(_cluster.BootstrapServers, _cluster.Topics.Cdrs, options.Partitions, options.Seed, options.Subscribers, options.Cdrs);
            _stream.LoadProfiles(_cluster.Topics.Subscribers, TimeSpan.FromSeconds(60));
            Log($"{options.Subscribers} profiles loaded; {options.Cdrs} CDRs generated, to stream at {options.Rate}/s");

            var offsetsConfig = KafkaClientTuning.Consumer(_cluster.BootstrapServers, RaterGroup, "none", forEmbeddedCluster: true,
                EmbeddedCluster.ShortSessionConsumerProperties);
            offsetsConfig.ClientId = "fault-suite-offsets";
            _offsets = new ConsumerBuilder<byte[], byte[]>(offsetsConfig).SetLogHandler((_, _) => { }).Build();

            foreach (var name in new[] { "rater-a", "rater-b" })
            {
                _raters.Add(new WorkerProcess(name, "rater", RaterSettings(name), logs));
            }

            StartWorker(_raters[0]);
            await WaitReadyAsync(_raters[0], stop);
            Log("rater-a ready");

            _gateway = await LoopbackGateway.StartAsync();
            _sender = new WorkerProcess("sender", "sender", SenderSettings(), logs);
            StartWorker(_sender);
            await WaitReadyAsync(_sender, stop);
            _report.SenderIncluded = true;
            Log($"sender ready; SMS gateway on {_gateway.Url}");
        }

        private IEnumerable<WorkerProcess> Workers => _sender is null ? _raters : [.. _raters, _sender];

        private IEnumerable<string> SenderSettings()
        {
            yield return $"--Kafka:BootstrapServers={_cluster!.BootstrapServers}";
            yield return "--Kafka:Embedded=true";
            foreach (var (key, value) in EmbeddedCluster.ShortSessionConsumerProperties)
            {
                yield return $"--Kafka:Properties:{key}={value}";
            }

            yield return $"--Sender:GroupId={SenderGroup}";
            yield return $"--Sender:Sms:Url={_gateway!.Url}";
            yield return "--Sender:Sms:RatePerSecond=5000";
            // Every notice goes out during the run: no quiet hours, no daily limit to speak of (their rules have
            // tests of their own); e-mail has no server here, so those notices fail to notices-dlq by design.
            yield return "--Sender:QuietHours:Start=00:00";
            yield return "--Sender:QuietHours:End=00:00";
            yield return "--Sender:DailyLimit=1000000";
        }

        private IEnumerable<string> RaterSettings(string name)
        {
            yield return $"--Kafka:BootstrapServers={_cluster!.BootstrapServers}";
            yield return "--Kafka:Embedded=true";
            foreach (var (key, value) in EmbeddedCluster.ShortSessionConsumerProperties)
            {
                yield return $"--Kafka:Properties:{key}={value}";
            }

            yield return $"--Rater:TariffPath={_tariffPath}";
            yield return "--Rater:TariffReloadInterval=00:00:00.200";
            yield return $"--Rater:InstanceId={name}";
            yield return $"--Rater:GroupId={RaterGroup}";
            yield return $"--Rater:BatchMaxWait={TimeSpan.FromMilliseconds(options.BatchWaitMs):c}";
            yield return "--Rater:BatchMaxRecords=50000";
        }

        private async Task InjectFaultsAsync(CancellationToken stop)
        {
            var plan = FaultPlan.Create(options, sender: true, _random);
            Log($"fault plan: {string.Join(' ', plan.Select(p => p.Kind))}");
            foreach (var fault in plan)
            {
                // Due at its share of the stream (or at once when the stream is ahead), never back to back.
                var due = (int)(fault.DueAtShare * options.Cdrs);
                await Task.Delay(500, stop);
                while (_stream!.Produced < due && _stream.Produced < options.Cdrs)
                {
                    await Task.Delay(100, stop);
                }

                await InjectAsync(fault.Kind, stop);
            }
        }

        private async Task InjectAsync(FaultKind kind, CancellationToken stop)
        {
            var mock = _cluster!.Mock;
            switch (kind)
            {
                case FaultKind.KillRater:
                    {
                        var running = Running(_raters);
                        if (running.Count == 0)
                        {
                            Log("kill rater: none running, skipped");
                            return;
                        }

                        var victim = running[_random.Next(running.Count)];
                        lock (_workers)
                        {
                            _expectedRunning.Remove(victim);
                        }

                        victim.Kill();
                        Count("rater SIGKILL");
                        Log($"SIGKILL {victim.Name} at CDR {_stream!.Produced}");
                        await Task.Delay(_random.Next(0, 1500), stop);
                        victim.Restarts++;
                        StartWorker(victim);
                        if (_random.NextDouble() < 0.7)
                        {
                            await WaitReadyAsync(victim, stop);
                            Log($"{victim.Name} restarted and ready");
                        }
                        else
                        {
                            Log($"{victim.Name} restarted (not waiting for it)");
                        }

                        break;
                    }

                case FaultKind.ProduceErrors:
                    {
                        var errors = Errors(ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut, ErrorCode.NotEnoughReplicas, ErrorCode.LeaderNotAvailable);
                        mock.PushRequestErrors(KafkaApiKey.Produce, errors);
                        Count("Produce errors");
                        Log($"Produce errors: {string.Join(',', errors)}");
                        break;
                    }

                case FaultKind.FetchErrors:
                    {
                        var errors = Errors(ErrorCode.NotLeaderForPartition, ErrorCode.LeaderNotAvailable, ErrorCode.RequestTimedOut);
                        mock.PushRequestErrors(KafkaApiKey.Fetch, errors);
                        Count("Fetch errors");
                        Log($"Fetch errors: {string.Join(',', errors)}");
                        break;
                    }

                case FaultKind.CommitErrors:
                    {
                        var errors = Errors(ErrorCode.RequestTimedOut, ErrorCode.NotCoordinatorForGroup, ErrorCode.GroupCoordinatorNotAvailable, ErrorCode.RebalanceInProgress);
                        mock.PushRequestErrors(KafkaApiKey.OffsetCommit, errors);
                        Count("OffsetCommit errors");
                        Log($"OffsetCommit errors: {string.Join(',', errors)}");
                        break;
                    }

                case FaultKind.BrokerDown:
                    {
                        var down = TimeSpan.FromMilliseconds(_random.Next(1000, 3000));
                        mock.SetBrokerDown(1);
                        Count("broker down");
                        Log($"broker down for {down.TotalSeconds:F1} s");
                        await Task.Delay(down, stop);
                        mock.SetBrokerUp(1);
                        Log("broker up");
                        break;
                    }

                case FaultKind.Latency:
                    {
                        var rtt = TimeSpan.FromMilliseconds(_random.Next(50, 300));
                        var span = TimeSpan.FromMilliseconds(_random.Next(2000, 5000));
                        mock.SetBrokerRtt(1, rtt);
                        Count("latency");
                        Log($"broker latency {rtt.TotalMilliseconds:F0} ms for {span.TotalSeconds:F1} s");
                        await Task.Delay(span, stop);
                        mock.SetBrokerRtt(1, TimeSpan.Zero);
                        break;
                    }

                case FaultKind.TariffSwitch:
                    await SwitchTariffAsync(stop);
                    break;

                case FaultKind.SecondRater:
                    {
                        var second = _raters[1];
                        StartWorker(second);
                        Count("second instance joins");
                        Log($"{second.Name} started: two instances in the group");
                        break;
                    }

                case FaultKind.StopOneRater:
                    {
                        var running = Running(_raters);
                        if (running.Count < 2)
                        {
                            Log("stop one rater: fewer than two running, skipped");
                            return;
                        }

                        var leaving = running[_random.Next(running.Count)];
                        lock (_workers)
                        {
                            _expectedRunning.Remove(leaving);
                        }

                        await leaving.StopAsync(TimeSpan.FromSeconds(30));
                        Count("instance stopped");
                        Log($"{leaving.Name} stopped (SIGTERM); one instance left");
                        break;
                    }

                case FaultKind.KillSender:
                    {
                        var sender = _sender!;
                        lock (_workers)
                        {
                            _expectedRunning.Remove(sender);
                        }

                        sender.Kill();
                        Count("sender SIGKILL");
                        Log($"SIGKILL sender at CDR {_stream!.Produced} ({_gateway!.DeliveriesByKey.Count} notices delivered so far)");
                        await Task.Delay(_random.Next(0, 1500), stop);
                        sender.Restarts++;
                        StartWorker(sender);
                        break;
                    }

                default:
                    throw new InvalidOperationException($"fault {kind} is not available");
            }
        }

        private ErrorCode[] Errors(params ErrorCode[] choices) =>
            [.. Enumerable.Range(0, _random.Next(3, 9)).Select(_ => choices[_random.Next(choices.Length)])];

        /// <summary>
        /// The switch lands at a known CDR: the stream pauses, every CDR so far is rated and committed under the
        /// old version, the new file is put in place and every running rater reports it; then the stream resumes.
        /// The new version adds only a zero-rating entry for a number the stream never dials, so charges stay
        /// those of the offline run and only <c>tariffVersion</c> of the later rated records changes.
        /// </summary>
        private async Task SwitchTariffAsync(CancellationToken stop)
        {
            var at = _stream!.Pause();
            try
            {
                _stream.Flush(TimeSpan.FromSeconds(60));
                await WaitDrainedAsync(stop);
                var (bytes, version) = SuiteTariffs.Next(SyntheticData.DemoTariffWithMonthlyFees());
                var temporary = _tariffPath + ".new";
                await File.WriteAllBytesAsync(temporary, bytes, stop);
                File.Move(temporary, _tariffPath, overwrite: true);
                foreach (var rater in Running(_raters))
                {
                    await WaitUntilAsync(async () =>
                        WorkerProcess.Sample(await rater.MetricsAsync(_http, stop), "ratingpipeline_tariff_info", $"version=\"{version}\"") == 1,
                        TimeSpan.FromSeconds(60), $"{rater.Name} loads tariff {version}", stop);
                }

                _report.SwitchIndex = at;
                NewVersion = version;
                Count("tariff switch");
                Log($"tariff {version} in force from CDR {at}");
            }
            finally
            {
                _stream.Resume();
            }
        }

        public string? NewVersion { get; private set; }

        private void Heal()
        {
            var mock = _cluster!.Mock;
            foreach (var api in new[] { KafkaApiKey.Produce, KafkaApiKey.Fetch, KafkaApiKey.OffsetCommit })
            {
                mock.ClearRequestErrors(api);
            }

            mock.SetBrokerUp(1);
            mock.SetBrokerRtt(1, TimeSpan.Zero);
        }

        private async Task EnsureOneRaterAsync(CancellationToken stop)
        {
            var running = Running(_raters);
            if (running.Count == 0)
            {
                StartWorker(_raters[0]);
                running = [_raters[0]];
            }

            foreach (var rater in running)
            {
                await WaitReadyAsync(rater, stop);
            }
        }

        /// <summary>Waits until the rater group's committed offsets reach the end of every <c>cdrs</c> partition.</summary>
        private async Task WaitDrainedAsync(CancellationToken stop)
        {
            var topic = _cluster!.Topics.Cdrs;
            var partitions = Enumerable.Range(0, options.Partitions).Select(p => new TopicPartition(topic, p)).ToList();
            long behind = -1;
            await WaitUntilAsync(() =>
            {
                try
                {
                    var committed = _offsets!.Committed(partitions, TimeSpan.FromSeconds(10));
                    behind = 0;
                    foreach (var c in committed)
                    {
                        var high = _offsets.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(10)).High.Value;
                        behind += Math.Max(0, high - Math.Max(0, c.Offset.Value));
                    }

                    return Task.FromResult(behind == 0);
                }
                catch (KafkaException)
                {
                    return Task.FromResult(false); // a fault of the moment; ask again
                }
            }, TimeSpan.FromMinutes(5), "the raters commit every CDR", stop, () => $"{behind} CDRs not committed");
        }

        /// <summary>
        /// Waits until the sender has committed every reminder (each one's outcome is in <c>notice-log</c> by then)
        /// and the gateway has seen no new request for two seconds.
        /// </summary>
        private async Task WaitNoticesDoneAsync(CancellationToken stop)
        {
            var sender = _sender!;
            if (!sender.IsRunning)
            {
                StartWorker(sender);
            }

            await WaitReadyAsync(sender, stop);
            var topic = _cluster!.Topics.Reminders;
            var partitions = Enumerable.Range(0, options.Partitions).Select(p => new TopicPartition(topic, p)).ToList();
            var config = KafkaClientTuning.Consumer(_cluster.BootstrapServers, SenderGroup, "none", forEmbeddedCluster: true,
                EmbeddedCluster.ShortSessionConsumerProperties);
            config.ClientId = "fault-suite-sender-offsets";
            using var offsets = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
            long behind = -1;
            await WaitUntilAsync(() =>
            {
                try
                {
                    var committed = offsets.Committed(partitions, TimeSpan.FromSeconds(10));
                    behind = committed.Sum(c => Math.Max(0, offsets.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(10)).High.Value - Math.Max(0, c.Offset.Value)));
                    return Task.FromResult(behind == 0);
                }
                catch (KafkaException)
                {
                    return Task.FromResult(false);
                }
            }, TimeSpan.FromMinutes(5), "the sender commits every reminder", stop, () => $"{behind} reminders not committed");

            var seen = -1;
            var quiet = Stopwatch.StartNew();
            while (quiet.Elapsed < TimeSpan.FromSeconds(2))
            {
                await Task.Delay(200, stop);
                if (_gateway!.Received.Count != seen)
                {
                    seen = _gateway.Received.Count;
                    quiet.Restart();
                }
            }

            Log($"sender done: {_gateway!.DeliveriesByKey.Count} notices delivered");
        }

        private async Task StopWorkersAsync()
        {
            foreach (var worker in Running(Workers))
            {
                lock (_workers)
                {
                    _expectedRunning.Remove(worker);
                }

                await worker.StopAsync(TimeSpan.FromSeconds(30));
            }
        }

        private async Task VerifyAsync(CancellationToken stop)
        {
            var cluster = _cluster!;
            var topics = cluster.Topics;
            var timeout = TimeSpan.FromMinutes(2);
            Log("reading the topics back");
            var contents = new ClusterContents(
                TopicReader.Read(cluster.BootstrapServers, topics.Cdrs, options.Partitions, timeout),
                TopicReader.Read(cluster.BootstrapServers, topics.RatedCdrs, options.Partitions, timeout),
                TopicReader.Read(cluster.BootstrapServers, topics.Reminders, options.Partitions, timeout),
                TopicReader.Read(cluster.BootstrapServers, topics.CdrsDlq, options.Partitions, timeout),
                TopicReader.Read(cluster.BootstrapServers, topics.RaterState, options.Partitions, timeout),
                TopicReader.Read(cluster.BootstrapServers, topics.Bills, options.Partitions, timeout),
                TopicReader.Read(cluster.BootstrapServers, topics.Subscribers, options.Partitions, timeout));
            var noticesDlq = TopicReader.Read(cluster.BootstrapServers, topics.NoticesDlq, options.Partitions, timeout);
            Log("comparing with the offline run");
            var reminders = await Verification.VerifyAsync(_stream!, SyntheticData.DemoTariffWithMonthlyFees(), NewVersion, _report.SwitchIndex, contents,
                Path.Combine(_work, "offline"), _report, stop);
            if (reminders is not null)
            {
                NoticeVerification.Verify(reminders, _stream!.Profiles, _gateway!, noticesDlq, _report);
            }

            _report.Check("planned sender kills done", _report.Faults.GetValueOrDefault("sender SIGKILL") == options.SenderKills,
                $"{_report.Faults.GetValueOrDefault("sender SIGKILL")} of {options.SenderKills}");
            _report.Check("planned rater kills done", _report.Faults.GetValueOrDefault("rater SIGKILL") == options.RaterKills,
                $"{_report.Faults.GetValueOrDefault("rater SIGKILL")} of {options.RaterKills}");
            var unexpected = Workers.Sum(r => r.UnexpectedExits);
            _report.Check("no worker exited by itself", unexpected == 0, $"{unexpected} unexpected exits (see {Path.Combine(_work, "logs")})");
        }

        /// <summary>Every second: notes workers that died without being killed (and starts them again), and reads their recovery counters.</summary>
        private async Task MonitorAsync(CancellationToken stop)
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(1000, stop);
                    foreach (var worker in Workers)
                    {
                        bool expected;
                        lock (_workers)
                        {
                            expected = _expectedRunning.Contains(worker);
                        }

                        if (worker.CheckUnexpectedExit(expected))
                        {
                            _report.Findings.Add($"{worker.Name} exited by itself at {_clock.Elapsed.TotalSeconds:F0} s; started again");
                            Log($"{worker.Name} exited by itself; started again");
                            worker.Start();
                            continue;
                        }

                        if (worker != _sender && WorkerProcess.Sample(await worker.MetricsAsync(_http, stop), "ratingpipeline_rater_recoveries_total") is { } recoveries)
                        {
                            worker.LastRecoveries = recoveries;
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // The run is over.
            }
        }

        private void StartWorker(WorkerProcess worker)
        {
            lock (_workers)
            {
                _expectedRunning.Add(worker);
            }

            worker.Start();
        }

        private List<WorkerProcess> Running(IEnumerable<WorkerProcess> workers)
        {
            lock (_workers)
            {
                return [.. workers.Where(w => _expectedRunning.Contains(w) && w.IsRunning)];
            }
        }

        private Task WaitReadyAsync(WorkerProcess worker, CancellationToken stop) =>
            WaitUntilAsync(() => worker.IsReadyAsync(_http, stop), TimeSpan.FromSeconds(90), $"{worker.Name} ready", stop);

        private async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, CancellationToken stop, Func<string>? state = null)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (!await condition())
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"waited {timeout.TotalSeconds:F0} s for: {what}{(state is null ? "" : $" ({state()})")}");
                }

                await Task.Delay(200, stop);
            }
        }

        private void Count(string fault) => _report.Faults[fault] = _report.Faults.GetValueOrDefault(fault) + 1;

        private void Log(string message)
        {
            if (options.Verbose)
            {
                output.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F1}s] {message}");
            }
        }

        public void Dispose()
        {
            foreach (var worker in Workers)
            {
                worker.Dispose();
            }

            _gateway?.Dispose();

            _offsets?.Dispose();
            _stream?.Dispose();
            _cluster?.Dispose();
            _http.Dispose();
        }
    }
}
