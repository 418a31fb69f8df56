namespace PSContainerd.Commands;

/// <summary>Where each cmdlet's online help (Get-Help -Online) lives: its page under docs/ in the project's repository.</summary>
public static class HelpUris
{
    /// <summary>The project's repository; the manifest's ProjectUri, LicenseUri and HelpInfoURI say the same.</summary>
    public const string Project = "https://github.com/PSContainerd/PSContainerd";

    /// <summary>The docs/ folder on the main branch; a cmdlet's HelpUri is this plus "Verb-Noun.md".</summary>
    public const string Base = Project + "/blob/main/docs/";
}
