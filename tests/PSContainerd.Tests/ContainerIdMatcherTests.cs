using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>The id rules, pure: no containerd needed.</summary>
public sealed class ContainerIdMatcherTests
{
    private const string Where = "in namespace 'n' at '/s.sock'";
    private static readonly string HexA = new string('a', 8) + new string('1', 56);
    private static readonly string HexB = new string('a', 8) + new string('2', 56);
    private static readonly string[] Ids = { "payments-db", "pay-api", "web-1", "web-2", "Web-3", HexA, HexB, "aaaa" };

    [Fact]
    public void ExactIdWinsOverEverything() => Assert.Equal(new[] { "aaaa" }, ContainerIdMatcher.Match("aaaa", Ids, Where));

    [Theory]
    [InlineData("pay")]
    [InlineData("payments")]
    [InlineData("web")]
    public void NamesAreNeverPrefixMatched(string text)
    {
        var e = Assert.Throws<ContainerLookupException>(() => ContainerIdMatcher.Match(text, Ids, Where));
        Assert.Equal(LookupFailure.NotFound, e.Failure);
        Assert.Contains(Where, e.Message);
    }

    [Fact]
    public void WildcardsMatchCaseInsensitively() =>
        Assert.Equal(new[] { "Web-3", "web-1", "web-2" }, ContainerIdMatcher.Match("WEB-*", Ids, Where));

    [Theory]
    [InlineData("web-[12]", 2)]
    [InlineData("web-?", 3)]
    [InlineData("pay*", 2)]
    public void WildcardSetsAndSingleCharacters(string pattern, int count) =>
        Assert.Equal(count, ContainerIdMatcher.Match(pattern, Ids, Where).Count);

    [Fact]
    public void AWildcardMatchingNothingIsNotFoundUnlessAllowed()
    {
        Assert.Equal(LookupFailure.NotFound, Assert.Throws<ContainerLookupException>(() => ContainerIdMatcher.Match("db-*", Ids, Where)).Failure);
        Assert.Empty(ContainerIdMatcher.Match("db-*", Ids, Where, emptyPatternIsError: false));
    }

    [Fact]
    public void AUniqueHexPrefixNamesItsId() => Assert.Equal(new[] { HexB }, ContainerIdMatcher.Match("aaaaaaaa2", Ids, Where));

    [Fact]
    public void ASharedHexPrefixIsAmbiguousAndListsBoth()
    {
        var e = Assert.Throws<ContainerLookupException>(() => ContainerIdMatcher.Match("aaaaa", Ids, Where));
        Assert.Equal(LookupFailure.Ambiguous, e.Failure);
        Assert.Equal(new[] { HexA, HexB }, e.Candidates);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void ABlankIdIsEmpty(string text) =>
        Assert.Equal(LookupFailure.Empty, Assert.Throws<ContainerLookupException>(() => ContainerIdMatcher.Match(text, Ids, Where)).Failure);

    [Fact]
    public void ABacktickEscapesAWildcardCharacter() =>
        Assert.Equal(LookupFailure.NotFound, Assert.Throws<ContainerLookupException>(() => ContainerIdMatcher.Match("web-`*", Ids, Where)).Failure);
}
