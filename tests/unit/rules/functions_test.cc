// Built-in functions of the expression language.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "eval_helpers.h"
#include "rules/expression.h"

namespace idsync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const AttributeMap kAttrs = {
    {"name", {"Zoë Ünal"}},
    {"names", {"ADA", "Émile"}},
    {"padded", {"  x y \t\n"}},
    {"list", {"a,b", ",c,,", ""}},
    {"hireDate", {"2024-03-15"}},
    {"dates", {"2024-03-15", "1999-12-31"}},
    {"empty", {""}},
    {"bad", {"x"}},
};

TEST(FunctionsTest, LowerAndUpperApplyToEachValue) {
  EXPECT_THAT(Eval("lower(names)", kAttrs), ElementsAre("ada", "émile"));
  EXPECT_THAT(Eval("upper(names)", kAttrs), ElementsAre("ADA", "ÉMILE"));
}

TEST(FunctionsTest, LowerAndUpperMapNonAsciiLetters) {
  EXPECT_THAT(Eval(R"(lower("ÅSA ΣΩ ДИМА"))"), ElementsAre("åsa σω дима"));
  EXPECT_THAT(Eval(R"(upper("jürgen ñandú"))"), ElementsAre("JÜRGEN ÑANDÚ"));
}

TEST(FunctionsTest, LowerKeepsInvalidUtf8Bytes) {
  AttributeMap attrs = {{"raw",
                         {std::string("A\xff"
                                      "B\xc3",
                                      4)}}};
  EXPECT_THAT(Eval("lower(raw)", attrs), ElementsAre(std::string("a\xff"
                                                                 "b\xc3",
                                                                 4)));
}

TEST(FunctionsTest, TrimRemovesSurroundingWhitespace) {
  EXPECT_THAT(Eval("trim(padded)", kAttrs), ElementsAre("x y"));
  EXPECT_THAT(Eval(R"(trim("   "))"), ElementsAre(""));
}

TEST(FunctionsTest, StringFunctionsOfNullAreNull) {
  for (const char* text :
       {"lower(missing)", "upper(missing)", "trim(missing)", "left(missing, 2)",
        "right(missing, 2)", "mid(missing, 1, 2)", "replace(missing, \"a\", \"b\")",
        "split(missing, \",\")", "join(missing, \",\")", "first(missing)",
        "formatDate(missing, \"%Y\", \"%Y\")"}) {
    EXPECT_THAT(Eval(text, kAttrs), IsEmpty()) << text;
  }
}

TEST(FunctionsTest, LeftCountsCharactersNotBytes) {
  EXPECT_THAT(Eval("left(name, 3)", kAttrs), ElementsAre("Zoë"));
  EXPECT_THAT(Eval("left(names, 1)", kAttrs), ElementsAre("A", "É"));
}

TEST(FunctionsTest, RightCountsCharactersNotBytes) {
  EXPECT_THAT(Eval("right(name, 4)", kAttrs), ElementsAre("Ünal"));
  EXPECT_THAT(Eval(R"(right("ñandú", 2))"), ElementsAre("dú"));
}

TEST(FunctionsTest, MidIsOneBasedAndCountsCharacters) {
  EXPECT_THAT(Eval(R"(mid("Ångström", 2, 3))"), ElementsAre("ngs"));
  EXPECT_THAT(Eval("mid(name, 3, 3)", kAttrs), ElementsAre("ë Ü"));
  EXPECT_THAT(Eval(R"(mid("abc", 1, 1))"), ElementsAre("a"));
}

TEST(FunctionsTest, LeftRightAndMidClampToTheValue) {
  EXPECT_THAT(Eval(R"(left("ab", 5))"), ElementsAre("ab"));
  EXPECT_THAT(Eval(R"(right("ab", 5))"), ElementsAre("ab"));
  EXPECT_THAT(Eval(R"(right("ab", 0))"), ElementsAre(""));
  EXPECT_THAT(Eval(R"(mid("abc", 5, 2))"), ElementsAre(""));
  EXPECT_THAT(Eval(R"(mid("abc", 2, 100))"), ElementsAre("bc"));
}

TEST(FunctionsTest, LengthsMustBeNonNegativeIntegers) {
  EXPECT_EQ(EvalError(R"(left(name, "x"))", kAttrs),
            "left: length must be a non-negative integer, got 'x'");
  EXPECT_EQ(EvalError("right(name, -1)", kAttrs),
            "right: length must be a non-negative integer, got '-1'");
  EXPECT_EQ(EvalError("left(name, missing)", kAttrs),
            "left: length must be a non-negative integer, got null");
  EXPECT_EQ(EvalError("mid(name, 0, 1)", kAttrs), "mid: start must be a positive integer, got '0'");
  EXPECT_EQ(EvalError("mid(name, 1, bad)", kAttrs),
            "mid: length must be a non-negative integer, got 'x'");
}

TEST(FunctionsTest, ReplaceReplacesEveryOccurrence) {
  EXPECT_THAT(Eval(R"(replace("a-b-c", "-", "--"))"), ElementsAre("a--b--c"));
  EXPECT_THAT(Eval(R"(replace(names, "E", "e"))", kAttrs), ElementsAre("ADA", "Émile"));
  EXPECT_THAT(Eval(R"(replace(names, "A", missing))", kAttrs), ElementsAre("D", "Émile"));
}

TEST(FunctionsTest, ReplaceWithNothingToFindLeavesTheValue) {
  EXPECT_THAT(Eval(R"(replace("abc", "", "x"))"), ElementsAre("abc"));
  EXPECT_THAT(Eval(R"(replace("abc", missing, "x"))"), ElementsAre("abc"));
}

TEST(FunctionsTest, SplitFlattensAndDropsEmptyPieces) {
  EXPECT_THAT(Eval(R"(split(list, ","))", kAttrs), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Eval(R"(split("a::b", "::"))"), ElementsAre("a", "b"));
  EXPECT_THAT(Eval(R"(split("", ","))"), IsEmpty());
}

TEST(FunctionsTest, SplitWithAnEmptySeparatorIsAnError) {
  EXPECT_EQ(EvalError(R"(split(list, ""))", kAttrs), "split: the separator is empty");
}

TEST(FunctionsTest, JoinMakesOneValue) {
  EXPECT_THAT(Eval(R"(join(names, "; "))", kAttrs), ElementsAre("ADA; Émile"));
  EXPECT_THAT(Eval(R"(join(names, missing))", kAttrs), ElementsAre("ADAÉmile"));
  EXPECT_THAT(Eval(R"(join(split("x,y", ","), "+"))"), ElementsAre("x+y"));
}

TEST(FunctionsTest, IifEvaluatesOnlyTheChosenBranch) {
  // The branch not taken would fail (left needs a number).
  EXPECT_THAT(Eval(R"(iif(name, "yes", left(name, "x")))", kAttrs), ElementsAre("yes"));
  EXPECT_THAT(Eval(R"(iif(empty, left(name, "x"), "no"))", kAttrs), ElementsAre("no"));
  EXPECT_THAT(Eval(R"(iif(missing, "yes", names))", kAttrs), ElementsAre("ADA", "Émile"));
  EXPECT_THAT(EvalError(R"(iif(name, left(name, "x"), "no"))", kAttrs), HasSubstr("left:"));
}

TEST(FunctionsTest, IsPresentDistinguishesNullFromAnEmptyString) {
  EXPECT_THAT(Eval("isPresent(empty)", kAttrs), ElementsAre("true"));
  EXPECT_THAT(Eval("isPresent(missing)", kAttrs), IsEmpty());
  EXPECT_THAT(Eval("isPresent(null())", kAttrs), IsEmpty());
}

TEST(FunctionsTest, CoalesceReturnsTheFirstNonNullArgument) {
  EXPECT_THAT(Eval(R"(coalesce(missing, null(), names, name))", kAttrs),
              ElementsAre("ADA", "Émile"));
  EXPECT_THAT(Eval(R"(coalesce(missing, empty, name))", kAttrs), ElementsAre(""));
  EXPECT_THAT(Eval("coalesce(missing, other)", kAttrs), IsEmpty());
}

TEST(FunctionsTest, CoalesceStopsAtTheFirstNonNullArgument) {
  EXPECT_THAT(Eval(R"(coalesce(name, left(name, "x")))", kAttrs), ElementsAre("Zoë Ünal"));
}

TEST(FunctionsTest, CountCountsValues) {
  EXPECT_THAT(Eval("count(names)", kAttrs), ElementsAre("2"));
  EXPECT_THAT(Eval("count(missing)", kAttrs), ElementsAre("0"));
  EXPECT_THAT(Eval("count(empty)", kAttrs), ElementsAre("1"));
}

TEST(FunctionsTest, FirstReturnsTheFirstValue) {
  EXPECT_THAT(Eval("first(names)", kAttrs), ElementsAre("ADA"));
  EXPECT_THAT(Eval("first(name)", kAttrs), ElementsAre("Zoë Ünal"));
}

TEST(FunctionsTest, NullReturnsNull) {
  EXPECT_THAT(Eval("null()"), IsEmpty());
  EXPECT_THAT(Eval("NULL() & null()"), IsEmpty());
}

TEST(FunctionsTest, FormatDateConvertsBetweenFormats) {
  EXPECT_THAT(Eval(R"(formatDate(hireDate, "%Y-%m-%d", "%Y%m%d%H%M%SZ"))", kAttrs),
              ElementsAre("20240315000000Z"));
  EXPECT_THAT(Eval(R"(formatDate("20240315093000Z", "%Y%m%d%H%M%SZ", "%d.%m.%Y %H:%M"))"),
              ElementsAre("15.03.2024 09:30"));
}

TEST(FunctionsTest, FormatDateAppliesToEachValue) {
  EXPECT_THAT(Eval(R"(formatDate(dates, "%Y-%m-%d", "%d/%m/%Y"))", kAttrs),
              ElementsAre("15/03/2024", "31/12/1999"));
}

TEST(FunctionsTest, FormatDateUsesEnglishNames) {
  EXPECT_THAT(Eval(R"(formatDate(hireDate, "%Y-%m-%d", "%a %d %b %Y"))", kAttrs),
              ElementsAre("Fri 15 Mar 2024"));
  EXPECT_THAT(Eval(R"(formatDate("15 March 2024", "%d %B %Y", "%Y-%m-%d"))"),
              ElementsAre("2024-03-15"));
}

TEST(FunctionsTest, FormatDateAppliesAnInputOffsetAndPrintsUtc) {
  EXPECT_THAT(
      Eval(R"(formatDate("2024-01-01T01:00:00+0200", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M %z"))"),
      ElementsAre("2023-12-31 23:00 +0000"));
}

TEST(FunctionsTest, FormatDateConvertsEpochSeconds) {
  EXPECT_THAT(Eval(R"(formatDate("2024-01-01 00:00:00", "%Y-%m-%d %H:%M:%S", "%s"))"),
              ElementsAre("1704067200"));
  EXPECT_THAT(Eval(R"(formatDate("1704067200", "%s", "%Y-%m-%dT%H:%M:%SZ"))"),
              ElementsAre("2024-01-01T00:00:00Z"));
}

TEST(FunctionsTest, FormatDateIgnoresTheLocalTimeZone) {
  const char* old = std::getenv("TZ");
  std::string saved = old != nullptr ? old : "";
  setenv("TZ", "EST5", 1);  // POSIX form: needs no zone files
  tzset();
  Values epoch = Eval(R"(formatDate("2024-01-01 00:00:00", "%Y-%m-%d %H:%M:%S", "%s"))");
  Values text = Eval(R"(formatDate("1704067200", "%s", "%H:%M"))");
  if (old != nullptr)
    setenv("TZ", saved.c_str(), 1);
  else
    unsetenv("TZ");
  tzset();
  EXPECT_THAT(epoch, ElementsAre("1704067200"));
  EXPECT_THAT(text, ElementsAre("00:00"));
}

TEST(FunctionsTest, FormatDateRejectsAValueThatDoesNotParse) {
  EXPECT_EQ(EvalError(R"(formatDate("15/03/2024", "%Y-%m-%d", "%Y"))"),
            "formatDate: '15/03/2024' does not match date format '%Y-%m-%d'");
  EXPECT_THAT(EvalError(R"(formatDate("2024-03-15 extra", "%Y-%m-%d", "%Y"))"),
              HasSubstr("'2024-03-15 extra' does not match"));
  EXPECT_THAT(EvalError(R"(formatDate("soon", "%s", "%Y"))"), HasSubstr("'soon' does not match"));
}

TEST(FunctionsTest, FormatDateRejectsDatesThatDoNotExist) {
  EXPECT_EQ(EvalError(R"(formatDate("2023-02-29", "%Y-%m-%d", "%Y"))"),
            "formatDate: '2023-02-29' is not a valid date");
  EXPECT_THAT(Eval(R"(formatDate("2024-02-29", "%Y-%m-%d", "%j"))"), ElementsAre("060"));
}

TEST(FunctionsTest, FormatDateRequiresFormats) {
  EXPECT_EQ(EvalError(R"(formatDate(hireDate, missing, "%Y"))", kAttrs),
            "formatDate: the input format is null");
  EXPECT_EQ(EvalError(R"(formatDate(hireDate, "%Y-%m-%d", missing))", kAttrs),
            "formatDate: the output format is null");
}

TEST(FunctionsTest, UnknownFunctionWithoutExtensionsIsAnEvaluationError) {
  auto expr = Expression::Parse("normalize(name)");
  ASSERT_TRUE(expr) << expr.error().message;
  EXPECT_THAT(expr->CalledFunctions(), ElementsAre("normalize"));
  EXPECT_THAT(EvalError("normalize(name)", kAttrs), HasSubstr("unknown function 'normalize'"));
}

}  // namespace
}  // namespace idsync
