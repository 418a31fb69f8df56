using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>Reading readiness from the kernel's tables: listening sockets and caught signals.</summary>
public sealed class ReadinessChecksTests
{
    [Theory]
    // a header-like row, a listener on 0.0.0.0:8080 (1F90), an established connection from port 8080, IPv6 listener on :::443 (01BB)
    [InlineData("   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1", 8080, true)]
    [InlineData("   1: 0100007F:1F90 0100007F:A2C4 01 00000000:00000000 00:00000000 00000000     0        0 12346 1", 8080, false)]
    [InlineData("   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1", 443, true)]
    [InlineData("   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1", 80, false)]
    [InlineData("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", 8080, false)]
    public void A_row_listens_on_a_port_only_in_state_LISTEN(string row, int port, bool listening) =>
        Assert.Equal(listening, ReadinessChecks.IsListening(row, port));

    [Theory]
    [InlineData(0x0000000000004000UL, 15, true)]   // SIGTERM is bit 14
    [InlineData(0x0000000000000002UL, 15, false)]  // only SIGINT
    [InlineData(0x0000000000000002UL, 2, true)]
    [InlineData(0x8000000000000000UL, 64, true)]
    [InlineData(0xFFFFFFFFFFFFFFFFUL, 0, false)]   // no signal 0
    public void The_caught_mask_says_which_signals_have_a_handler(ulong mask, int signal, bool caught) =>
        Assert.Equal(caught, ReadinessChecks.Catches(mask, signal));
}
