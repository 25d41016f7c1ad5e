# Prints each failed test of a TRX file with the first lines of its message.
BEGIN { RS = "</UnitTestResult>"; shown = 0 }
/<UnitTestResult [^>]*outcome="Failed"/ {
  if (shown++ >= 10) next
  name = $0
  sub(/.*<UnitTestResult testName="/, "", name); sub(/".*/, "", name)
  message = $0
  if (!sub(/.*<Message>/, "", message)) message = "(no message)"
  sub(/<\/Message>.*/, "", message)
  text = name "\n" message
  gsub(/&lt;/, "<", text); gsub(/&gt;/, ">", text); gsub(/&quot;/, "\"", text); gsub(/&apos;/, "'", text); gsub(/&amp;/, "\\&", text)
  n = split(text, lines, "\n")
  printf "FAILED %s\n", lines[1]
  for (i = 2; i <= n && i <= 46; i++) printf "    %s\n", lines[i]
  if (n > 46) printf "    ... (%d more lines)\n", n - 46
}
